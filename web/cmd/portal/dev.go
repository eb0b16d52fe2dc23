package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/gateway"
	"github.com/usersvc/usersvc/lambdas"
	"github.com/usersvc/usersvc/web/httpserve"
	"github.com/usersvc/usersvc/web/idp"
	"github.com/usersvc/usersvc/web/portal"
	"github.com/usersvc/usersvc/web/portal/lambdahttp"
)

// devClientID is the portal's app client at the local identity provider.
const devClientID = "portal"

// cliClientID is the public app client `portal dev` registers for
// command-line use (`portal token`), and cliCallback its one callback URL.
// Nothing listens there: `portal token` captures the redirect to it and
// never follows it, so it need not be a port anything is bound to. It is on
// localhost, not 127.0.0.1, because Cognito allows plain http only there
// and the local provider follows the same rule.
const (
	cliClientID = "portal-cli"
	cliCallback = "http://localhost/callback"
)

// cliClient is the public app client for tools on the developer's machine:
// a public client (no secret) can be used from a shell without handing out
// the portal's secret, and PKCE protects its codes instead.
func cliClient() idp.Client {
	return idp.Client{
		ClientId:           cliClientID,
		ClientName:         "command line (development)",
		CallbackURLs:       []string{cliCallback},
		AllowedOAuthFlows:  []string{"code"},
		AllowedOAuthScopes: []string{"openid", "email", "profile"},
		// SRP and refresh, as the portal's; and the password flow, since
		// the AWS CLI and shell scripts have no SRP: this client exists
		// for them.
		ExplicitAuthFlows: []string{idp.FlowUserSRP, idp.FlowUserPassword, idp.FlowRefreshToken},
	}
}

// devMemoryLimit is the soft memory limit of `portal dev` (GOMEMLIMIT
// overrides it). The live heap is a few megabytes, plus 19 MiB for each
// password hash in progress.
const devMemoryLimit = 32 << 20

// runDev runs the whole stack offline in one process: the portal, the
// identity provider (with the portal registered as its app client) and the
// HTTP API (the gateway trusting that provider, the handlers, the embedded
// store). The portal is the same as `portal serve`; only its configuration
// comes from here.
func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	start := time.Now()
	fset := flag.NewFlagSet("dev", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, `usage: portal dev [flags]

Runs the whole stack offline in one process: the portal, the identity
provider and the HTTP API. Data (users, accounts, keys, mail, sessions) is
kept under -data between runs. The seeded admin's password comes from
PORTAL_DEV_ADMIN_PASSWORD, or is generated and printed once.

Two app clients are registered: "portal" (the portal's, confidential, its
secret never leaves the process) and "portal-cli" (public, for the command
line); the API accepts tokens of both. For curl:

  TOKEN=$(PORTAL_PASSWORD=... portal token -username admin@example.com)
  curl -H "Authorization: Bearer $TOKEN" "localhost:3000/user?UserId=..."

flags:
`)
		fset.PrintDefaults()
	}
	addr := fset.String("addr", "127.0.0.1:8080", "portal listen `address`")
	idpAddr := fset.String("idp-addr", "127.0.0.1:9229", "identity provider listen `address`")
	apiAddr := fset.String("api-addr", "127.0.0.1:3000", "HTTP API listen `address`")
	dataDir := fset.String("data", ".local", "data `directory`")
	portalURL := fset.String("url", "", "the portal's public `URL` (default http://localhost:<port>)")
	idpURL := fset.String("idp-url", "", "the identity provider's public `URL` (default http://localhost:<port>)")
	apiURL := fset.String("api-url", "", "the HTTP API's public `URL` (default http://localhost:<port>)")
	adminEmail := fset.String("admin-email", "admin@example.com", "the seeded admin's `email`")
	logJSON := fset.Bool("log-json", false, "log JSON lines instead of text")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fset.Args(), " "))
	}
	log := newLogger(stderr, *logJSON)
	if getenv("GOMEMLIMIT") == "" {
		// Password hashing (argon2id, 19 MiB a hash) makes the heap jump
		// by tens of megabytes for a moment; without a limit the runtime
		// keeps those pages long after. A soft limit makes it hand them
		// back, keeping the whole stack near 40 MB resident instead of 60.
		// The old limit comes back on return, for tests that run dev in
		// their own process.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(devMemoryLimit))
	}

	// Listen first, so that ports given as 0 are known before the URLs are.
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	listen := func(a string) (net.Listener, error) {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		return ln, nil
	}
	portalLn, err := listen(*addr)
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	idpLn, err := listen(*idpAddr)
	if err != nil {
		return fmt.Errorf("identity provider: %w", err)
	}
	apiLn, err := listen(*apiAddr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	pURL := firstNonEmpty(strings.TrimSuffix(*portalURL, "/"), defaultURL(portalLn.Addr()))
	iURL := firstNonEmpty(strings.TrimSuffix(*idpURL, "/"), defaultURL(idpLn.Addr()))
	aURL := firstNonEmpty(strings.TrimSuffix(*apiURL, "/"), defaultURL(apiLn.Addr()))

	// The portal is a confidential client, as in AWS (generate_secret);
	// its secret lives only in this process. `portal token` uses the public
	// client portal-cli instead, and the gateway accepts tokens of both.
	secret := rand.Text()
	adminPassword := getenv("PORTAL_DEV_ADMIN_PASSWORD")
	provider, err := openIDP(idp.Config{
		URL:             iURL,
		DataDir:         *dataDir,
		Clients:         []idp.Client{idp.DevClient(pURL, secret), cliClient()},
		AdminEmail:      *adminEmail,
		AdminPassword:   adminPassword,
		Outbox:          true,
		SecretAccessKey: getenv(idp.SecretAccessKeyEnv),
		Log:             log.With("server", "idp"),
	})
	if err != nil {
		return err
	}
	defer provider.Close()

	// The gateway's access log (API Gateway's, in the seed's format) goes to
	// a file beside the store: it is the only trace of requests the
	// authorizer refuses, which never reach a handler's log line.
	accessPath := filepath.Join(filepath.Dir(apiStoreFile(*dataDir)), "access.log")
	accessOut, closeAccess, err := openAccessLog(accessPath, stdout)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	defer closeAccess()
	gw, closeAPI, err := openAPI(ctx, apiConfig{
		store:    "bolt",
		dataDir:  *dataDir,
		issuer:   provider.Issuer(),
		audience: []string{devClientID, cliClientID},
		gateway:  gateway.Config{AccessLog: accessOut},
		log:      log,
	})
	if err != nil {
		return err
	}
	defer closeAPI()

	// The account screens call the provider's Cognito API with its own
	// key pair, as the portal calls Cognito with its role on AWS.
	accts, err := localAccounts(ctx, provider)
	if err != nil {
		return fmt.Errorf("account screens: %w", err)
	}
	p, closePortal, err := newPortal(ctx, portalOptions{
		accounts: accts,
		url:      pURL,
		issuer:   provider.Issuer(),
		clientID: devClientID,
		secret:   secret,
		apiURL:   aURL,
		scopes:   []string{"openid", "email", "profile"},
		dataDir:  *dataDir,
		log:      log,
	}, portalLn.Addr())
	if err != nil {
		return err
	}
	defer closePortal()
	// The portal is served as on AWS: through its Lambda entry point
	// (payload 2.0 events, cookies array and all) behind a gateway with
	// one public $default route, so the code that ships is the code
	// clicked every day, and the access log records its requests too.
	portalGW, err := gateway.New(gateway.Config{
		Routes:    []api.Route{lambdas.Portal},
		Functions: map[string]any{lambdas.Portal.Function: lambdahttp.New(p.server, log.With("server", "portal"))},
		APIID:     "portal",
		MaxBody:   portal.MaxRequestBody,
		AccessLog: accessOut,
		Log:       log.With("server", "portal-gateway"),
	})
	if err != nil {
		return fmt.Errorf("portal gateway: %w", err)
	}
	defer portalGW.Close()

	idpBase, err := url.Parse(iURL)
	if err != nil {
		return fmt.Errorf("-idp-url: %w", err)
	}
	fmt.Fprintf(stdout, "portal   %s\n", pURL)
	fmt.Fprintf(stdout, "idp      %s  (issuer %s; mail at %s/outbox)\n", iURL, provider.Issuer(), iURL)
	fmt.Fprintf(stdout, "api      %s  (access log %s)\n", aURL, accessPath)
	printAdmin(stdout, provider, *adminEmail, adminPassword)
	printCognitoAPI(stdout, provider)

	go func() {
		// Discover the provider now, so the first sign-in does not wait.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		p.server.Warm(wctx)
	}()
	log.Info("ready", "startup", time.Since(start).Round(time.Millisecond))
	lns = nil // serveAll owns them now
	return serveAll(ctx, log,
		namedServer{name: "portal", ln: portalLn, handler: portalGW, grace: gateway.DefaultTimeout},
		namedServer{name: "idp", ln: idpLn, handler: httpserve.CanonicalHost(idpBase, provider.Handler())},
		namedServer{name: "api", ln: apiLn, handler: gw, grace: gateway.DefaultTimeout},
	)
}
