package accountstest

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/idp"
	"github.com/usersvc/usersvc/web/idp/users"
)

// Provider is the local identity provider on a loopback httptest server,
// answering Cognito's API; what tests of the account screens and of
// portal admin run against when they need no faults.
type Provider struct {
	// URL is the provider's origin: the Cognito endpoint
	// (AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER).
	URL string
	// PoolID is its pool, in Region.
	PoolID, Region string
	// KeyID and Secret are the key pair its admin operations are signed
	// with.
	KeyID, Secret string
	// DataDir is where it keeps its pool and outbox.
	DataDir string
	// Server is the provider itself.
	Server *idp.Server
	// Client is the SDK's client of it, signed with the key pair, with
	// retries off so that each fault is seen once, and request bodies
	// buffered as NewDefault's are (accounts.BufferRequestBodies).
	Client *cip.Client
}

// Provider's fixed settings.
const (
	ProviderPool   = "us-east-1_LocalTest"
	ProviderKeyID  = "AKIDACCOUNTSTEST"
	ProviderSecret = "accounts/test/secret+access+key/0123456789"
)

// StartProvider starts the local identity provider with the admin account
// adminEmail (password adminPassword, in admins) and, when fill is not
// nil, the accounts fill adds to its store before it opens. It stops when
// the test ends.
func StartProvider(t testing.TB, adminEmail, adminPassword string, fill func(*users.Store)) *Provider {
	t.Helper()
	return startProvider(t, t.TempDir(), adminEmail, adminPassword, fill)
}

func newUnstarted() *httptest.Server { return httptest.NewUnstartedServer(nil) }

func startProvider(t testing.TB, dir, adminEmail, adminPassword string, fill func(*users.Store)) *Provider {
	t.Helper()
	if fill != nil {
		if err := os.MkdirAll(filepath.Join(dir, "idp"), 0o700); err != nil {
			t.Fatal(err)
		}
		s, err := users.Open(filepath.Join(dir, "idp"), users.TestCost, nil)
		if err != nil {
			t.Fatal(err)
		}
		fill(s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ts := newUnstarted()
	p := &Provider{
		URL: "http://" + ts.Listener.Addr().String(), PoolID: ProviderPool, Region: "us-east-1",
		KeyID: ProviderKeyID, Secret: ProviderSecret, DataDir: dir,
	}
	srv, err := idp.New(idp.Config{
		URL: p.URL, PoolID: p.PoolID, DataDir: dir,
		Clients:    []idp.Client{idp.DevClient("http://localhost:8080", "s3cret")},
		AdminEmail: adminEmail, AdminPassword: adminPassword,
		PasswordCost: users.TestCost, Outbox: true,
		AccessKeyID: p.KeyID, SecretAccessKey: p.Secret,
	})
	if err != nil {
		ts.Close()
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	p.Server = srv
	p.Client = cip.New(cip.Options{
		Region:           p.Region,
		BaseEndpoint:     aws.String(p.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(p.KeyID, p.Secret, ""),
		HTTPClient:       ts.Client(),
		RetryMaxAttempts: 1,
	}, accounts.BufferRequestBodies)
	return p
}

// StartProviderClient is an SDK client of p signed with another secret,
// for tests of refused signatures.
func StartProviderClient(p *Provider, secret string) *cip.Client {
	return cip.New(cip.Options{
		Region:           p.Region,
		BaseEndpoint:     aws.String(p.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(p.KeyID, secret, ""),
		RetryMaxAttempts: 1,
	}, accounts.BufferRequestBodies)
}
