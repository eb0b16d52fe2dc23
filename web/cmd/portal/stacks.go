package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/bolt"
	"github.com/usersvc/usersvc/api/dynamo"
	"github.com/usersvc/usersvc/api/gateway"
	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/idp"
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
