package idp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/usersvc/usersvc/web/idp/signin"
	"github.com/usersvc/usersvc/web/idp/users"
)

// The JSON API's tests go through aws-sdk-go-v2's Cognito client, pointed
// at the provider on httptest, as an application would.

const (
	apiKeyID    = "AKIDLOCALTEST"
	apiSecret   = "local/secret+access+key/for+tests/0123456"
	apiPool     = "us-east-1_TestPool"
	apiConfSec  = "conf-secret"
	callbackURL = "http://localhost:8080/auth/callback"
)

// apiEnv is a provider with app clients for every flow, and SDK clients.
type apiEnv struct {
	t     testing.TB
	srv   *Server
	ts    *httptest.Server
	clock *clock
	api   *cip.Client // signed with the provider's key pair
	anon  *cip.Client // no credentials (public operations)
	pool  *string
	// revokeFails makes the store's RevokeAll fail, as a broken token
	// database would.
	revokeFails atomic.Bool
}

// The app clients: "app" (public, every flow), "conf" (secret, every
// flow), "legacy" (PreventUserExistenceErrors LEGACY), "srponly" (Cognito's
// default flows), "hosted" (the Hosted UI's, default flows), "pwonly"
// (USER_PASSWORD_AUTH only: no SRP).
func apiClients() []Client {
	all := []string{FlowUserSRP, FlowUserPassword, FlowRefreshToken, FlowAdminPassword}
	cb := []string{callbackURL}
	return []Client{
		{ClientId: "app", ClientName: "app", CallbackURLs: cb, ExplicitAuthFlows: all, AllowedOAuthScopes: []string{"openid", "email"}},
		{ClientId: "conf", ClientName: "conf", ClientSecret: apiConfSec, CallbackURLs: cb, ExplicitAuthFlows: all},
		{ClientId: "legacy", CallbackURLs: cb, ExplicitAuthFlows: all, PreventUserExistenceErrors: "LEGACY"},
		{ClientId: "srponly", CallbackURLs: cb},
		{ClientId: "hosted", CallbackURLs: cb, AllowedOAuthScopes: []string{"openid", "email"}},
		{ClientId: "pwonly", CallbackURLs: cb, ExplicitAuthFlows: []string{FlowUserPassword}},
	}
}

func newAPIEnv(t testing.TB) *apiEnv { return newAPIEnvWith(t, nil) }

// newAPIEnvWith is newAPIEnv with a hook that fills the user store (in
// <dir>/idp) before the provider opens it.
func newAPIEnvWith(t testing.TB, fill func(dir string)) *apiEnv {
	t.Helper()
	e := &apiEnv{t: t, clock: &clock{t: time.Now().Truncate(time.Second)}, pool: aws.String(apiPool)}
	ts := httptest.NewUnstartedServer(nil)
	dir := t.TempDir()
	seedKeys(t, dir)
	if fill != nil {
		fill(filepath.Join(dir, "idp"))
	}
	srv, err := New(Config{
		URL: "http://" + ts.Listener.Addr().String(), PoolID: apiPool, DataDir: dir, Clients: apiClients(),
		AdminEmail: adminEmail, AdminPassword: adminPass, Outbox: true,
		Now: e.clock.Now, PasswordCost: users.TestCost,
		AccessKeyID: apiKeyID, SecretAccessKey: apiSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// Paced answers are recorded, not waited for.
	wall := time.Now()
	srv.pace.now = func() time.Time { return wall }
	srv.pace.sleep = func(context.Context, time.Duration) {}
	srv.revokeAll = func(ctx context.Context, sub string) error {
		if e.revokeFails.Load() {
			return errors.New("token database: injected failure")
		}
		return srv.users.RevokeAll(ctx, sub)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	e.srv, e.ts = srv, ts
	e.api = e.client(credentials.NewStaticCredentialsProvider(apiKeyID, apiSecret, ""))
	e.anon = e.client(aws.AnonymousCredentials{})
	return e
}

// client is an SDK client of the provider with the given credentials.
func (e *apiEnv) client(creds aws.CredentialsProvider) *cip.Client {
	return cip.New(cip.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(e.ts.URL), Credentials: creds,
		HTTPClient: &http.Client{Transport: bufferedBodies{&http.Transport{}}}, RetryMaxAttempts: 1,
	})
}

// secretHash is SECRET_HASH for the "conf" client.
func secretHash(username string) *string {
	m := hmac.New(sha256.New, []byte(apiConfSec))
	m.Write([]byte(username + "conf"))
	return aws.String(base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

// signUp signs an account up through the API and confirms it with the
// code of the mailed link, returning its sub.
func (e *apiEnv) signUp(email, password string) string {
	e.t.Helper()
	ctx := context.Background()
	out, err := e.anon.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String("app"), Username: aws.String(email), Password: aws.String(password)})
	if err != nil {
		e.t.Fatalf("SignUp %s: %v", email, err)
	}
	_, err = e.anon.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String("app"), Username: aws.String(email), ConfirmationCode: aws.String(e.confirmCode(email))})
	if err != nil {
		e.t.Fatalf("ConfirmSignUp %s: %v", email, err)
	}
	return *out.UserSub
}

// confirmCode is the code in the newest verification link mailed to email.
func (e *apiEnv) confirmCode(email string) string {
	e.t.Helper()
	link, err := e.srv.Outbox().VerificationLink(email, "/confirmUser")
	if err != nil {
		e.t.Fatal(err)
	}
	u, _ := url.Parse(link)
	return u.Query().Get("confirmation_code")
}

// resetCode is the newest reset code mailed to email.
func (e *apiEnv) resetCode(email string) string {
	e.t.Helper()
	m, err := e.srv.Outbox().Latest(email)
	if err != nil || m.Code() == "" {
		e.t.Fatalf("no reset code for %s: %v", email, err)
	}
	return m.Code()
}

// passwordAuth signs in with USER_PASSWORD_AUTH on "app".
func (e *apiEnv) passwordAuth(email, password string) (*cip.InitiateAuthOutput, error) {
	return e.anon.InitiateAuth(context.Background(), &cip.InitiateAuthInput{
		ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password},
	})
}

// tokens signs in and returns the result, failing the test otherwise.
func (e *apiEnv) tokens(email, password string) *types.AuthenticationResultType {
	e.t.Helper()
	out, err := e.passwordAuth(email, password)
	if err != nil {
		e.t.Fatalf("sign in %s: %v", email, err)
	}
	if out.AuthenticationResult == nil {
		e.t.Fatalf("sign in %s: challenge %s", email, out.ChallengeName)
	}
	return out.AuthenticationResult
}

// hostedSignIn signs in through the Hosted UI with the "hosted" client.
func (e *apiEnv) hostedSignIn(email, password string) (*signin.Tokens, error) {
	return signin.Run(context.Background(), signin.Config{
		URL: e.ts.URL, ClientID: "hosted", RedirectURI: callbackURL, Scopes: []string{"openid", "email"},
		Username: email, Password: password, HTTPClient: e.ts.Client(),
	})
}

// wantAPIError fails unless err is the SDK's typed error T (for modelled
// exceptions) and, when typ is not empty, carries that error code.
func wantAPIError[T error](t testing.TB, what string, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("%s: error %v (%T), want %T", what, err, err, target)
	}
}

// wantCode fails unless err is an API error with this code (for the
// errors the SDK has no type for: SigV4 and protocol refusals).
func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
}

// bufferedBodies hands the transport a copy of each request body that
// ignores Close. The SDK closes a request's body once it has the response,
// and net/http's transport may still be reading it then (to check there is
// nothing past Content-Length): the read fails, the transport closes the
// connection, and the response body still being decoded is lost. Seen
// here under load as "use of closed network connection" in ListUsers.
type bufferedBodies struct{ http.RoundTripper }

func (t bufferedBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return t.RoundTripper.RoundTrip(req)
}
