package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/usersvc/usersvc/api/dynamo"
	"github.com/usersvc/usersvc/api/gateway"
)

// runAPI serves the HTTP API: the local API Gateway (JWT authorizer,
// payload format 2.0) in front of the user service's handlers, on the
// embedded store or on DynamoDB.
func runAPI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: portal api [flags]\n\n"+
			"Serves the HTTP API as API Gateway would: the route table, the JWT authorizer\n"+
			"trusting -issuer and -audience (a local identity provider or real Cognito),\n"+
			"payload format 2.0 events to the handlers, and their store.\n\nflags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:3000", "`address` to listen on")
	dataDir := fs.String("data", ".local", "`directory` of the embedded store (-store bolt)")
	storeKind := fs.String("store", "bolt", "user store: bolt (embedded, in -data) or dynamodb (the AWS SDK's standard configuration)")
	table := fs.String("table", firstNonEmpty(getenv("TABLE_NAME"), dynamo.DefaultTable), "DynamoDB `table` (-store dynamodb; default $TABLE_NAME, else AppDummy)")
	createTable := fs.Bool("create-table", false, "create the DynamoDB table if it does not exist (for local servers such as dynalite, with AWS_ENDPOINT_URL_DYNAMODB)")
	issuer := fs.String("issuer", "", "JWT issuer `URL` to trust (required), e.g. https://cognito-idp.<region>.amazonaws.com/<pool-id>, or http://localhost:9229/us-east-1_LocalPool for portal idp")
	audience := fs.String("audience", "", "accepted app client `ids` (aud, or client_id of access tokens), comma separated (required), e.g. portal,portal-cli")
	accessLog := fs.String("access-log", "-", "access log `file` (JSON lines), - for stdout, empty for none")
	corsOrigins := fs.String("cors-origins", "", "CORS allowed `origins`, comma separated, or *; empty turns CORS off")
	corsMethods := fs.String("cors-methods", "GET,POST", "CORS allowed `methods`, comma separated")
	corsHeaders := fs.String("cors-headers", "authorization,content-type", "CORS allowed request `headers`, comma separated")
	corsExpose := fs.String("cors-expose-headers", "location", "CORS exposed response `headers`, comma separated")
	corsMaxAge := fs.Duration("cors-max-age", 0, "how long browsers may cache a preflight answer")
	corsCredentials := fs.Bool("cors-credentials", false, "CORS: allow credentials")
	rate := fs.Float64("throttle-rate", 0, "stage throttle: steady `requests per second`, 0 for none")
	burst := fs.Int("throttle-burst", 0, "stage throttle: burst `size` (default: the rate)")
	concurrency := fs.Int("concurrency", 0, "invocations in flight per route, like reserved concurrency; 0 for no limit")
	timeout := fs.Duration("timeout", gateway.DefaultTimeout, "integration timeout of every route")
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("api: unexpected arguments %q", fs.Args())
	}
	// Nothing is trusted by default: a default issuer on localhost would
	// trust whatever process took that port first, and so would mint
	// admin tokens for it. (portal dev passes its own provider's.)
	if *issuer == "" || len(splitCommaFlag(*audience)) == 0 {
		fs.Usage()
		return errors.New("api: -issuer and -audience are required: the gateway trusts only tokens of the issuer and app clients it is told")
	}
	log := newLogger(stderr, *logJSON)

	accessOut, closeAccess, err := openAccessLog(*accessLog, stdout)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	defer closeAccess()
	var cors *gateway.CORS
	if *corsOrigins != "" {
		cors = &gateway.CORS{
			AllowOrigins:     splitCommaFlag(*corsOrigins),
			AllowMethods:     splitCommaFlag(*corsMethods),
			AllowHeaders:     splitCommaFlag(*corsHeaders),
			ExposeHeaders:    splitCommaFlag(*corsExpose),
			MaxAge:           *corsMaxAge,
			AllowCredentials: *corsCredentials,
		}
	}
	if *burst <= 0 {
		*burst = max(1, int(*rate))
	}
	gw, closeAPI, err := openAPI(ctx, apiConfig{
		store:       *storeKind,
		dataDir:     *dataDir,
		table:       *table,
		createTable: *createTable,
		getenv:      getenv,
		issuer:      *issuer,
		audience:    splitCommaFlag(*audience),
		gateway: gateway.Config{
			AccessLog:      accessOut,
			CORS:           cors,
			Throttle:       gateway.Throttle{Rate: *rate, Burst: *burst},
			MaxConcurrency: *concurrency,
			Timeout:        *timeout,
		},
		log: log,
	})
	if err != nil {
		return err
	}
	defer closeAPI()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	fmt.Fprintf(stdout, "api      http://%s  (trusts issuer %s, app clients %s)\n", ln.Addr(), *issuer, strings.Join(splitCommaFlag(*audience), ","))
	log.Info("serving HTTP API", "url", "http://"+ln.Addr().String(), "issuer", *issuer, "audience", *audience, "store", *storeKind)
	// In-flight requests get as long as a route may run, then go.
	return serveAll(ctx, log, namedServer{name: "api", ln: ln, handler: gw, grace: *timeout})
}

// splitCommaFlag splits a comma-separated flag value, dropping empty entries.
func splitCommaFlag(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
