package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/usersvc/usersvc/terraform"
	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/httpserve"
)

// runServe runs the portal alone against any OIDC issuer and HTTP API:
// Cognito and API Gateway in AWS, or `portal idp` and `portal api` locally.
// With no -issuer it reads everything from the .local/aws.json that
// `portal deploy` writes.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("serve", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, "usage: portal serve [flags]\n\nRuns the web portal against an OIDC issuer and the HTTP API. Without -issuer,\nthe configuration comes from -aws-config (written by portal deploy).\nThe client secret is read from PORTAL_CLIENT_SECRET (or the config file).\n\nflags:\n")
		fset.PrintDefaults()
	}
	addr := fset.String("addr", "127.0.0.1:8080", "listen `address`")
	publicURL := fset.String("url", "", "the portal's public `URL` (default http://localhost:<port of -addr>); its /auth/callback must be a registered callback")
	issuer := fset.String("issuer", "", "OIDC issuer `URL`, e.g. https://cognito-idp.<region>.amazonaws.com/<pool id>")
	clientID := fset.String("client-id", "", "app client `id`")
	apiURL := fset.String("api-url", "", "base `URL` of the HTTP API")
	hostedUI := fset.String("hosted-ui", "", "base `URL` of the Hosted UI (Cognito's user pool domain); default: from the authorization endpoint")
	scopes := fset.String("scopes", "openid email", "`scopes` to request, space separated")
	dataDir := fset.String("data", ".local", "`directory` for the session store (-sessions bolt)")
	sessions := fset.String("sessions", "bolt", "session store: bolt (one file in -data, one process) or dynamodb (shared by every process; the AWS SDK's standard configuration)")
	sessionsTable := fset.String("sessions-table", firstNonEmpty(getenv("SESSIONS_TABLE"), "portal-sessions"), "DynamoDB `table` of the sessions (-sessions dynamodb; default $SESSIONS_TABLE, else portal-sessions)")
	createTable := fset.Bool("create-table", false, "create the sessions table if it does not exist (-sessions dynamodb, for local servers such as dynalite)")
	awsConfig := fset.String("aws-config", filepath.Join(".local", "aws.json"), "configuration `file` written by portal deploy, used when -issuer is not given")
	logJSON := fset.Bool("log-json", false, "log JSON lines instead of text")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fset.Args(), " "))
	}
	opts := portalOptions{
		addr:     *addr,
		url:      *publicURL,
		issuer:   *issuer,
		clientID: *clientID,
		secret:   getenv("PORTAL_CLIENT_SECRET"),
		hostedUI: *hostedUI,
		apiURL:   *apiURL,
		scopes:   strings.Fields(*scopes),
		dataDir:  *dataDir,
		log:      newLogger(stderr, *logJSON),

		sessions:      *sessions,
		sessionsTable: *sessionsTable,
		createTable:   *createTable,
	}
	if opts.issuer == "" {
		c, err := readAWSConfig(*awsConfig)
		if err != nil {
			return fmt.Errorf("no -issuer given and %w", err)
		}
		opts.issuer = c.Issuer
		opts.hostedUI = firstNonEmpty(opts.hostedUI, c.HostedUIURL)
		opts.clientID = firstNonEmpty(opts.clientID, c.ClientID)
		opts.apiURL = firstNonEmpty(opts.apiURL, c.APIURL)
		opts.secret = firstNonEmpty(opts.secret, c.ClientSecret)
	}
	if opts.clientID == "" || opts.apiURL == "" {
		return errors.New("-client-id and -api-url are required with -issuer")
	}
	// The account screens call Cognito's API with this process's own AWS
	// credentials (the SDK's standard chain; the endpoint variable points
	// them at a local provider); an issuer that is no user pool has none.
	if pool, _, err := accounts.PoolFromIssuer(opts.issuer); err == nil {
		if opts.accounts, err = accounts.NewDefault(ctx, pool); err != nil {
			return err
		}
	} else {
		opts.log.Info("no account screens: the issuer names no Cognito user pool", "issuer", opts.issuer)
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return err
	}
	p, closeP, err := newPortal(ctx, opts, ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}
	defer closeP()
	fmt.Fprintf(stdout, "portal  %s  (issuer %s, api %s, sessions %s)\n", p.url, opts.issuer, opts.apiURL, p.sessions)
	return serveAll(ctx, opts.log, namedServer{name: "portal", ln: ln, handler: p.server})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// readAWSConfig reads the file `portal deploy` writes, through
// terraform.LoadConfig (which refuses a file others can read: it holds the
// client secret), and checks it names what serve needs.
func readAWSConfig(path string) (terraform.AWSConfig, error) {
	c, err := terraform.LoadConfig(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, fmt.Errorf("%s does not exist (run portal deploy, or give -issuer, -client-id and -api-url)", path)
	}
	if err != nil {
		return c, err
	}
	if c.Issuer == "" || c.ClientID == "" || c.APIURL == "" {
		return c, fmt.Errorf("%s lacks issuer, client_id or api_url", path)
	}
	return c, nil
}

func newLogger(w io.Writer, asJSON bool) *slog.Logger {
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// defaultURL is http://localhost:<port>: localhost rather than 127.0.0.1
// because browsers treat it as a secure origin (so __Host- cookies work) and
// because the registered callbacks name it.
func defaultURL(addr net.Addr) string {
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	return "http://localhost:" + port
}

// namedServer is one HTTP server on an open listener. grace is how long
// its requests in flight may take to finish once a stop is asked for
// (shutdownGrace when zero).
type namedServer struct {
	name    string
	ln      net.Listener
	handler http.Handler
	grace   time.Duration
}

// shutdownGrace is how long requests in flight get once a stop is asked
// for, unless a server says otherwise.
const shutdownGrace = 5 * time.Second

// serveAll serves every server until ctx ends or one fails, then shuts them
// all down, giving requests in flight their grace. Every server holds its
// shape under load: see package httpserve.
func serveAll(ctx context.Context, log *slog.Logger, servers ...namedServer) error {
	errc := make(chan error, len(servers))
	var hs []*httpserve.Server
	grace := shutdownGrace
	for _, s := range servers {
		grace = max(grace, s.grace)
		// Bounded connections, and read and write deadlines per request:
		// a form's by default, raised by the gateways per route (a 10 MB
		// POST /user on a slow link still gets through).
		h := httpserve.New(httpserve.Config{Handler: s.handler, Log: log.With("server", s.name)})
		hs = append(hs, h)
		go func() {
			if err := h.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", s.name, err)
				return
			}
			errc <- nil
		}()
	}
	var err error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Go(func() { h.Shutdown(sctx) })
	}
	wg.Wait()
	log.Info("stopped")
	return err
}
