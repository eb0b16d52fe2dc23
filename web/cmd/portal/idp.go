package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/usersvc/usersvc/web/httpserve"
	"github.com/usersvc/usersvc/web/idp"
)

// runIDP runs the local identity provider alone: Cognito's Hosted UI and
// OAuth 2.0 endpoints on one origin, its issuer at <url>/<pool id>.
func runIDP(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	start := time.Now()
	fset := flag.NewFlagSet("idp", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, `usage: portal idp [flags]

Runs the local identity provider, a twin of an Amazon Cognito user pool with
its Hosted UI: sign-up with email verification by link, sign-in, password
reset, the OAuth 2.0 code flow with PKCE, userInfo, revoke and logout.
Keys, accounts and mail are kept under -data between runs; mail goes to
<data>/outbox/*.eml and, with -outbox, to the page /outbox.

App clients come from -clients (Cognito's JSON shape,
{"UserPoolClients":[{"ClientId":...,"CallbackURLs":[...],...}]}); without
it, one client "portal" is registered for the portal at -portal-url,
confidential when PORTAL_CLIENT_SECRET is set and public otherwise.

The seeded admin's password comes from PORTAL_DEV_ADMIN_PASSWORD, or is
generated when the account is created and printed once.

flags:
`)
		fset.PrintDefaults()
	}
	addr := fset.String("addr", "127.0.0.1:9229", "listen `address`")
	dataDir := fset.String("data", ".local", "data `directory`")
	poolID := fset.String("pool-id", idp.DefaultPoolID, "user pool `id` (<region>_<id>); the issuer is <url>/<pool id>")
	clientsFile := fset.String("clients", "", "app clients as Cognito JSON `file` ({\"UserPoolClients\":[...]})")
	adminEmail := fset.String("admin-email", "admin@example.com", "the seeded admin's `email` (in group admins)")
	publicURL := fset.String("url", "", "the provider's public `URL` (default http://localhost:<port>)")
	portalURL := fset.String("portal-url", "http://localhost:8080", "the portal `URL` the default client returns to (without -clients)")
	accessKeyID := fset.String("access-key-id", idp.DefaultAccessKeyID, "access key `id` the Cognito API's admin operations are signed with (SigV4); the secret comes from "+idp.SecretAccessKeyEnv+", else is generated once and kept under -data")
	outbox := fset.Bool("outbox", true, "serve the mail outbox page at /outbox (development only: it shows live codes); on an address other than loopback only when given explicitly")
	rotate := fset.Bool("rotate-keys", false, "rotate the signing keys at start-up (old keys stay published until their tokens expire)")
	logJSON := fset.Bool("log-json", false, "log JSON lines instead of text")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fset.Args(), " "))
	}
	log := newLogger(stderr, *logJSON)

	var clients []idp.Client
	if *clientsFile != "" {
		var err error
		if clients, err = idp.LoadClientsFile(*clientsFile); err != nil {
			return err
		}
	} else {
		clients = []idp.Client{idp.DevClient(*portalURL, getenv("PORTAL_CLIENT_SECRET"))}
	}

	// Listen first, so that a port given as 0 is known before the URL is.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("identity provider: %w", err)
	}
	defer func() {
		if ln != nil {
			ln.Close()
		}
	}()
	// The outbox page shows live confirmation and reset codes: served to
	// anyone who can reach a non-loopback address, it would hand out
	// every account. There it takes an explicit -outbox.
	outboxExplicit := false
	fset.Visit(func(f *flag.Flag) { outboxExplicit = outboxExplicit || f.Name == "outbox" })
	if served := serveOutbox(ln.Addr(), *outbox, outboxExplicit); served != *outbox {
		*outbox = served
		log.Warn("not serving the outbox page on a non-loopback address (it shows live codes); give -outbox to serve it anyway", "addr", ln.Addr().String())
	}
	iURL := firstNonEmpty(strings.TrimSuffix(*publicURL, "/"), defaultURL(ln.Addr()))
	base, err := url.Parse(iURL)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	adminPassword := getenv("PORTAL_DEV_ADMIN_PASSWORD")
	provider, err := openIDP(idp.Config{
		URL:             iURL,
		PoolID:          *poolID,
		DataDir:         *dataDir,
		Clients:         clients,
		AdminEmail:      *adminEmail,
		AdminPassword:   adminPassword,
		Outbox:          *outbox,
		AccessKeyID:     *accessKeyID,
		SecretAccessKey: getenv(idp.SecretAccessKeyEnv),
		// Readers other than this machine only when asked for by name.
		OutboxRemote: *outbox && outboxExplicit,
		Log:          log.With("server", "idp"),
	})
	if err != nil {
		return err
	}
	defer provider.Close()
	if *rotate {
		if err := provider.RotateKeys(); err != nil {
			return err
		}
		log.Info("signing keys rotated")
	}

	fmt.Fprintf(stdout, "idp      %s\n", iURL)
	fmt.Fprintf(stdout, "issuer   %s\n", provider.Issuer())
	if *outbox {
		fmt.Fprintf(stdout, "mail     %s/outbox  (files in %s)\n", iURL, provider.Outbox().Dir())
	} else {
		fmt.Fprintf(stdout, "mail     %s\n", provider.Outbox().Dir())
	}
	for _, c := range clients {
		kind := "public"
		if !c.Public() {
			kind = "confidential"
		}
		fmt.Fprintf(stdout, "client   %s (%s)  callbacks %s\n", c.ClientId, kind, strings.Join(c.CallbackURLs, " "))
	}
	printAdmin(stdout, provider, *adminEmail, adminPassword)
	printCognitoAPI(stdout, provider)
	log.Info("ready", "addr", ln.Addr().String(), "startup", time.Since(start).Round(time.Millisecond))
	l := ln
	ln = nil // serveAll owns it now
	return serveAll(ctx, log, namedServer{name: "idp", ln: l, handler: httpserve.CanonicalHost(base, provider.Handler())})
}

// serveOutbox decides whether the outbox page is served on a listener at
// addr: on loopback as -outbox says; elsewhere only when -outbox was given
// explicitly.
func serveOutbox(addr net.Addr, outbox, explicit bool) bool {
	return outbox && (explicit || isLoopbackAddr(addr))
}

// isLoopbackAddr reports whether a listener's address is a loopback one;
// an unspecified address (0.0.0.0, [::]) listens on every interface and
// is not.
func isLoopbackAddr(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
