// Package function runs the portal as an AWS Lambda function behind its
// own HTTP API: it builds the portal from the environment once per cold
// start, with its sessions in DynamoDB and the app client's secret from
// the SSM Parameter Store, and serves it to payload 2.0 events through
// package lambdahttp.
//
// The environment:
//
//	PORTAL_URL                      the portal's public base URL (its HTTP API's endpoint)
//	PORTAL_ISSUER                   the user pool's OIDC issuer
//	PORTAL_CLIENT_ID                the app client's id
//	PORTAL_API_URL                  the user HTTP API's base URL
//	SESSIONS_TABLE                  the sessions table (package session/dynamo)
//	PORTAL_CLIENT_SECRET_PARAMETER  the SecureString holding the app client's secret;
//	                                unset for a public client
//
// plus the AWS SDK's own (AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_SSM). The secret is never in the environment: a
// PORTAL_CLIENT_SECRET variable fails the cold start. It is read once,
// decrypted, and appears in no log line or error. A public client has no
// secret to derive the key that seals sign-ins in progress from, so it
// uses a random key kept in the sessions table (dynamo.Store.SharedKey),
// read once per cold start.
//
// A missing or malformed setting fails the cold start with one log line
// that names the variable.
package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/usersvc/usersvc/api/client"
	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/portal"
	"github.com/usersvc/usersvc/web/portal/lambdahttp"
	"github.com/usersvc/usersvc/web/portal/session/dynamo"
)

// Env is the function's configuration, as LoadEnv reads it.
type Env struct {
	URL             string // PORTAL_URL
	Issuer          string // PORTAL_ISSUER
	ClientID        string // PORTAL_CLIENT_ID
	APIURL          string // PORTAL_API_URL
	SessionsTable   string // SESSIONS_TABLE
	SecretParameter string // PORTAL_CLIENT_SECRET_PARAMETER; "" for a public client
}

// EnvError is a missing or malformed setting; its message starts with the
// variable's name.
type EnvError struct {
	Var string
	Msg string
}

func (e *EnvError) Error() string { return e.Var + ": " + e.Msg }

var (
	tableName     = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	parameterName = regexp.MustCompile(`^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter)?/?[A-Za-z0-9_.\-/]+$`)
	clientID      = regexp.MustCompile(`^[\w+]{1,128}$`)
)

// LoadEnv reads and checks the function's settings with getenv.
func LoadEnv(getenv func(string) string) (Env, error) {
	e := Env{
		URL:             strings.TrimSpace(getenv("PORTAL_URL")),
		Issuer:          strings.TrimSpace(getenv("PORTAL_ISSUER")),
		ClientID:        strings.TrimSpace(getenv("PORTAL_CLIENT_ID")),
		APIURL:          strings.TrimSpace(getenv("PORTAL_API_URL")),
		SessionsTable:   strings.TrimSpace(getenv("SESSIONS_TABLE")),
		SecretParameter: strings.TrimSpace(getenv("PORTAL_CLIENT_SECRET_PARAMETER")),
	}
	if getenv("PORTAL_CLIENT_SECRET") != "" {
		return Env{}, &EnvError{"PORTAL_CLIENT_SECRET", "the client secret must not be in the environment; put it in an SSM SecureString and name it in PORTAL_CLIENT_SECRET_PARAMETER"}
	}
	if err := origin("PORTAL_URL", e.URL); err != nil {
		return Env{}, err
	}
	if err := absolute("PORTAL_ISSUER", e.Issuer); err != nil {
		return Env{}, err
	}
	// The account screens need the pool; a Cognito issuer names it.
	if _, _, err := accounts.PoolFromIssuer(e.Issuer); err != nil {
		return Env{}, &EnvError{"PORTAL_ISSUER", "not a user pool's issuer (https://cognito-idp.<region>.amazonaws.com/<pool id>)"}
	}
	switch {
	case e.ClientID == "":
		return Env{}, &EnvError{"PORTAL_CLIENT_ID", "not set"}
	case !clientID.MatchString(e.ClientID):
		return Env{}, &EnvError{"PORTAL_CLIENT_ID", "not an app client id (letters, digits, _ and +, at most 128)"}
	}
	if err := absolute("PORTAL_API_URL", e.APIURL); err != nil {
		return Env{}, err
	}
	switch {
	case e.SessionsTable == "":
		return Env{}, &EnvError{"SESSIONS_TABLE", "not set"}
	case !tableName.MatchString(e.SessionsTable):
		return Env{}, &EnvError{"SESSIONS_TABLE", fmt.Sprintf("%q is not a DynamoDB table name", e.SessionsTable)}
	}
	if e.SecretParameter != "" && (len(e.SecretParameter) > 2048 || !parameterName.MatchString(e.SecretParameter)) {
		return Env{}, &EnvError{"PORTAL_CLIENT_SECRET_PARAMETER", fmt.Sprintf("%q is not an SSM parameter name or ARN", e.SecretParameter)}
	}
	return e, nil
}

func absolute(name, v string) error {
	if v == "" {
		return &EnvError{name, "not set"}
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &EnvError{name, fmt.Sprintf("%q is not an absolute http or https URL", v)}
	}
	return nil
}

func origin(name, v string) error {
	if err := absolute(name, v); err != nil {
		return err
	}
	u, _ := url.Parse(strings.TrimSuffix(v, "/"))
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return &EnvError{name, fmt.Sprintf("%q has a path, query or fragment; want an origin such as https://abc123.execute-api.eu-west-1.amazonaws.com", v)}
	}
	return nil
}

// Options are what New takes besides the environment; the zero value is
// right for Lambda.
type Options struct {
	// Log receives the portal's log; nil means JSON lines on stdout, as
	// CloudWatch reads them.
	Log *slog.Logger
	// HTTPClient talks to the provider and the user API; nil means one
	// with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the portal's clock; nil means time.Now.
	Now func() time.Time
}

// Portal is the portal built from the environment, and its store.
type Portal struct {
	Server   *portal.Server
	Sessions *dynamo.Store
	Handler  lambdahttp.Handler
}

// New builds the portal from the environment (read with getenv) and the
// AWS SDK's standard configuration: the settings, then the client secret
// from SSM, then the sessions table's shared key for a public client.
func New(ctx context.Context, getenv func(string) string, opts Options) (*Portal, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	env, err := LoadEnv(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if awsCfg.Region == "" {
		// Lambda always sets it; elsewhere every call would fail later,
		// under another variable's name.
		return nil, &EnvError{"AWS_REGION", "not set (nor a region in the shared AWS config)"}
	}
	var secret string
	if env.SecretParameter != "" {
		if secret, err = clientSecret(ctx, ssm.NewFromConfig(awsCfg), env.SecretParameter); err != nil {
			return nil, err
		}
	}
	sessions := dynamo.New(dynamodb.NewFromConfig(awsCfg), env.SessionsTable)
	stateKey, err := sessions.StateKey(ctx, secret)
	if err != nil {
		return nil, fmt.Errorf("SESSIONS_TABLE: %w", err)
	}
	users, err := client.New(env.APIURL, opts.HTTPClient)
	if err != nil {
		return nil, &EnvError{"PORTAL_API_URL", err.Error()}
	}
	// The account screens call Cognito with the function's role, which
	// Terraform allows exactly their actions on this pool.
	pool, _, _ := accounts.PoolFromIssuer(env.Issuer) // checked by LoadEnv
	accts := accounts.New(cip.NewFromConfig(awsCfg, accounts.BufferRequestBodies), pool)
	srv, err := portal.NewServer(portal.Config{
		Accounts:     accts,
		URL:          env.URL,
		Issuer:       env.Issuer,
		ClientID:     env.ClientID,
		ClientSecret: secret,
		StateKey:     stateKey,
		Users:        users,
		Sessions:     sessions,
		Log:          opts.Log,
		HTTPClient:   opts.HTTPClient,
		Now:          opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("configure portal: %w", err)
	}
	return &Portal{Server: srv, Sessions: sessions, Handler: lambdahttp.New(srv, opts.Log)}, nil
}

// clientSecret reads the SecureString name, decrypted. Its errors name the
// variable and the parameter, never the value.
func clientSecret(ctx context.Context, c *ssm.Client, name string) (string, error) {
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	var notFound *ssmtypes.ParameterNotFound
	switch {
	case errors.As(err, &notFound):
		return "", &EnvError{"PORTAL_CLIENT_SECRET_PARAMETER", fmt.Sprintf("parameter %q does not exist", name)}
	case err != nil:
		return "", fmt.Errorf("PORTAL_CLIENT_SECRET_PARAMETER: read parameter %q: %w", name, err)
	case out.Parameter == nil || aws.ToString(out.Parameter.Value) == "":
		return "", &EnvError{"PORTAL_CLIENT_SECRET_PARAMETER", fmt.Sprintf("parameter %q is empty", name)}
	}
	return aws.ToString(out.Parameter.Value), nil
}

// Main is the portal function's main: it builds the portal from the
// process environment and serves it to Lambda. function is the function's
// name in the catalogue (package lambdas), for the log. A configuration
// error is one log line naming the variable, and exit status 1, which
// Lambda reports as an init failure.
func Main(function string) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	p, err := New(context.Background(), os.Getenv, Options{Log: log})
	if err != nil {
		log.Error("portal cold start failed", "function", function, "error", err)
		os.Exit(1)
	}
	lambda.Start(p.Handler)
}
