package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/bolt"
	"github.com/usersvc/usersvc/api/client"
	"github.com/usersvc/usersvc/api/dynamo"
	"github.com/usersvc/usersvc/api/gateway"
	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/idp"
	"github.com/usersvc/usersvc/web/portal"
	"github.com/usersvc/usersvc/web/portal/session"
	sessiondynamo "github.com/usersvc/usersvc/web/portal/session/dynamo"
)

// The three stacks the binary runs (the HTTP API, the identity provider,
// the portal) are each opened by one function here; `dev`, `api`, `idp`
// and `serve` differ only in which they open and how they configure them.

// apiStoreFile is where the embedded user store lives under a data
// directory; `portal api` and `portal dev` share it, so both see the same
// users.
func apiStoreFile(dataDir string) string { return filepath.Join(dataDir, "api", "users.db") }

// apiConfig configures the HTTP API stack.
type apiConfig struct {
	// store is "bolt" (the embedded store under dataDir) or "dynamodb"
	// (the AWS SDK's standard configuration, table table).
	store, dataDir, table string
	createTable           bool
	getenv                func(string) string

	issuer   string
	audience []string
	gateway  gateway.Config // everything else the gateway takes: CORS, throttle, timeouts, access log
	log      *slog.Logger
}

// openAPI opens the HTTP API: the user store, the handlers on it and the
// gateway in front of them. Its close function ends the gateway's warm
// function environments before the store they use goes away.
func openAPI(ctx context.Context, cfg apiConfig) (*gateway.Gateway, func(), error) {
	store, closeStore, err := openUserStore(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("api: %w", err)
	}
	gcfg := cfg.gateway
	gcfg.Routes = api.Routes
	gcfg.Handler = api.New(store, cfg.log.With("server", "api")).Handler
	gcfg.Issuer = cfg.issuer
	gcfg.Audience = cfg.audience
	gcfg.Log = cfg.log.With("server", "gateway")
	gw, err := gateway.New(gcfg)
	if err != nil {
		closeStore()
		return nil, nil, fmt.Errorf("api gateway: %w", err)
	}
	return gw, func() { gw.Close(); closeStore() }, nil
}

func openUserStore(ctx context.Context, cfg apiConfig) (api.Store, func(), error) {
	switch cfg.store {
	case "bolt":
		path := apiStoreFile(cfg.dataDir)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, err
		}
		s, err := bolt.Open(path)
		if err != nil {
			return nil, nil, err
		}
		cfg.log.Info("embedded user store", "path", path)
		return s, func() { s.Close() }, nil
	case "dynamodb":
		env := func(k string) string {
			if k == "TABLE_NAME" {
				return cfg.table
			}
			return cfg.getenv(k)
		}
		s, err := dynamo.NewFromEnv(ctx, env, cfg.log)
		if err != nil {
			return nil, nil, err
		}
		if cfg.createTable {
			if err := s.EnsureTable(ctx); err != nil {
				return nil, nil, err
			}
		}
		cfg.log.Info("dynamodb user store", "table", s.Table())
		return s, func() {}, nil
	}
	return nil, nil, fmt.Errorf("-store %q: want bolt or dynamodb", cfg.store)
}

// openAccessLog opens the gateway's access log: "" for none, "-" for
// stdout, else a file appended to (0600: it names callers' addresses).
func openAccessLog(path string, stdout io.Writer) (io.Writer, func(), error) {
	switch path {
	case "":
		return nil, func() {}, nil
	case "-":
		return stdout, func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("access log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("access log: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// openIDP opens the identity provider with its data directory.
func openIDP(cfg idp.Config) (*idp.Server, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	provider, err := idp.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("identity provider: %w", err)
	}
	return provider, nil
}

// printAdmin says how to sign in as the seeded admin, without printing a
// password that did not come from this start.
func printAdmin(w io.Writer, provider *idp.Server, email, envPassword string) {
	switch pw, generated := provider.GeneratedAdminPassword(); {
	case generated:
		fmt.Fprintf(w, "admin    %s  password %s  (generated, shown once: note it, or set PORTAL_DEV_ADMIN_PASSWORD)\n", email, pw)
	case envPassword != "":
		fmt.Fprintf(w, "admin    %s  password from PORTAL_DEV_ADMIN_PASSWORD\n", email)
	default:
		fmt.Fprintf(w, "admin    %s  password unchanged since it was first printed (set PORTAL_DEV_ADMIN_PASSWORD to reset it)\n", email)
	}
}

// printCognitoAPI says where the provider's Cognito API is and with what
// to sign its admin operations, ready to paste into a shell: the SDKs'
// standard variables, and the --endpoint-url form for CLIs older than
// those variables.
func printCognitoAPI(w io.Writer, provider *idp.Server) {
	key, secret := provider.Credentials()
	_, region, err := accounts.PoolFromIssuer(provider.Issuer())
	if err != nil {
		region = "us-east-1"
	}
	fmt.Fprintf(w, "cognito  %s  (Cognito's API; for the AWS SDKs and CLI:)\n", provider.Endpoint())
	// AWS_DEFAULT_REGION too: the AWS CLI v1 reads no other.
	fmt.Fprintf(w, "         export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n",
		provider.Endpoint(), region, region, key, secret)
	fmt.Fprintf(w, "         aws cognito-idp --endpoint-url %s --region %s ...  (CLIs without the variable)\n", provider.Endpoint(), region)
}

// localAccounts is the account service of the portal's admin screens
// against the local provider's Cognito API, signed with the provider's own
// key pair (as the portal's role signs on AWS), in the pool's region
// whatever the shell's AWS_REGION says.
func localAccounts(ctx context.Context, provider *idp.Server) (*accounts.Service, error) {
	pool, region, err := accounts.PoolFromIssuer(provider.Issuer())
	if err != nil {
		return nil, err
	}
	key, secret := provider.Credentials()
	return accounts.NewDefault(ctx, pool, func(o *cip.Options) {
		o.BaseEndpoint = aws.String(provider.Endpoint())
		o.Region = region
		o.Credentials = credentials.NewStaticCredentialsProvider(key, secret, "")
	})
}

// portalOptions configure the portal in both `serve` and `dev`: the same
// code path, only the values differ.
type portalOptions struct {
	addr, url                string
	issuer, clientID, secret string
	hostedUI, apiURL         string
	scopes                   []string
	log                      *slog.Logger
	httpClient               *http.Client  // to the provider; nil for the default
	sweepEvery               time.Duration // expired sessions are deleted this often; 0 for sweepInterval

	// sessions is "bolt" (the default: one file under dataDir, for one
	// process) or "dynamodb" (table sessionsTable, shared by any number
	// of processes, as on AWS).
	sessions, dataDir, sessionsTable string
	createTable                      bool

	// accounts, when set, serves the account screens to admins.
	accounts *accounts.Service
}

// sweepInterval is how often expired sessions are deleted from disk.
const sweepInterval = 10 * time.Minute

type builtPortal struct {
	server   *portal.Server
	url      string
	sessions string // where the sessions are, for the start-up lines
}

// newPortal builds the portal for a listener at addr: its session store,
// the API client and the server, and starts the sweep of expired sessions
// (which ends at once on DynamoDB, whose TTL deletes them). The returned
// function stops the sweep, waits for it, and only then closes the session
// store, so that no sweep ever runs on a closed store, however serving
// ended.
func newPortal(ctx context.Context, opts portalOptions, addr net.Addr) (*builtPortal, func(), error) {
	u := opts.url
	if u == "" {
		u = defaultURL(addr)
	}
	sessions, stateKey, where, closeSessions, err := openSessions(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	users, err := client.New(opts.apiURL, nil)
	if err != nil {
		closeSessions()
		return nil, nil, err
	}
	cfg := portal.Config{
		URL:          u,
		Issuer:       opts.issuer,
		ClientID:     opts.clientID,
		ClientSecret: opts.secret,
		StateKey:     stateKey,
		HostedUI:     opts.hostedUI,
		Scopes:       opts.scopes,
		Users:        users,
		Sessions:     sessions,
		Log:          opts.log.With("server", "portal"),
		HTTPClient:   opts.httpClient,
	}
	if opts.accounts != nil {
		// A nil *Service in the interface would not read as "none".
		cfg.Accounts = opts.accounts
	}
	srv, err := portal.NewServer(cfg)
	if err != nil {
		closeSessions()
		return nil, nil, err
	}
	every := opts.sweepEvery
	if every <= 0 {
		every = sweepInterval
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	var sweeping sync.WaitGroup
	sweeping.Go(func() { srv.SweepSessions(sweepCtx, every) })
	return &builtPortal{server: srv, url: u, sessions: where}, func() {
		stopSweep()
		sweeping.Wait()
		closeSessions()
	}, nil
}

// openSessions opens the portal's session store as opts say. It returns
// the store, the key of sign-ins in progress a public client needs from it
// (nil otherwise), where the sessions are (for the start-up lines), and
// the store's close.
func openSessions(ctx context.Context, opts portalOptions) (portal.Sessions, []byte, string, func(), error) {
	switch opts.sessions {
	case "", "bolt":
		if err := os.MkdirAll(opts.dataDir, 0o700); err != nil {
			return nil, nil, "", nil, fmt.Errorf("create data directory: %w", err)
		}
		path := filepath.Join(opts.dataDir, "portal-sessions.db")
		st, err := session.Open(path)
		if err != nil {
			return nil, nil, "", nil, err
		}
		return st, nil, path, func() {
			if err := st.Close(); err != nil {
				opts.log.Error("close session store", "error", err)
			}
		}, nil
	case "dynamodb":
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, nil, "", nil, fmt.Errorf("sessions: load aws config: %w", err)
		}
		st := sessiondynamo.New(dynamodb.NewFromConfig(awsCfg), opts.sessionsTable)
		if opts.createTable {
			if err := st.EnsureTable(ctx); err != nil {
				return nil, nil, "", nil, fmt.Errorf("sessions: %w", err)
			}
		}
		key, err := st.StateKey(ctx, opts.secret)
		if err != nil {
			return nil, nil, "", nil, fmt.Errorf("sessions: %w", err)
		}
		return st, key, "dynamodb table " + opts.sessionsTable, func() {}, nil
	}
	return nil, nil, "", nil, fmt.Errorf("-sessions %q: want bolt or dynamodb", opts.sessions)
}
