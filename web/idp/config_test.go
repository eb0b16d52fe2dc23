package idp

import (
	"strings"
	"testing"
	"time"

	"github.com/usersvc/usersvc/web/idp/users"
)

// TestLoadClientsDesignExample loads the example of DESIGN.md, Cognito's
// own JSON shape.
func TestLoadClientsDesignExample(t *testing.T) {
	cs, err := LoadClientsFile("testdata/clients.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ClientId != "portal" || cs[0].Public() {
		t.Fatalf("clients = %+v", cs)
	}
	l, err := cs[0].lifetimes()
	if err != nil || l != (lifetimes{time.Hour, time.Hour, 30 * 24 * time.Hour}) {
		t.Fatalf("lifetimes = %+v, %v", l, err)
	}
}

func TestLoadClientsRejects(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"empty", `{"UserPoolClients":[]}`, "no UserPoolClients"},
		{"not JSON", `{`, "decode"},
		{"no id", `{"UserPoolClients":[{"CallbackURLs":["https://a.example/cb"]}]}`, "ClientId"},
		{"no callback", `{"UserPoolClients":[{"ClientId":"a"}]}`, "CallbackURLs"},
		{"plain http elsewhere", `{"UserPoolClients":[{"ClientId":"a","CallbackURLs":["http://a.example/cb"]}]}`, "https"},
		{"relative", `{"UserPoolClients":[{"ClientId":"a","CallbackURLs":["/cb"]}]}`, "absolute"},
		{"fragment", `{"UserPoolClients":[{"ClientId":"a","CallbackURLs":["https://a.example/cb#x"]}]}`, "fragment"},
		{"implicit only", `{"UserPoolClients":[{"ClientId":"a","CallbackURLs":["https://a.example/cb"],"AllowedOAuthFlows":["implicit"]}]}`, "code"},
		{"ID token too short", `{"UserPoolClients":[{"ClientId":"a","CallbackURLs":["https://a.example/cb"],"IdTokenValidity":4,"TokenValidityUnits":{"IdToken":"minutes"}}]}`, "IdTokenValidity"},
		{"access token too long", `{"UserPoolClients":[{"ClientId":"a","CallbackURLs":["https://a.example/cb"],"AccessTokenValidity":25}]}`, "AccessTokenValidity"},
		{"unknown unit", `{"UserPoolClients":[{"ClientId":"a","CallbackURLs":["https://a.example/cb"],"RefreshTokenValidity":2,"TokenValidityUnits":{"RefreshToken":"weeks"}}]}`, "unit"},
		{"twice", `{"UserPoolClients":[{"ClientId":"a","CallbackURLs":["https://a.example/cb"]},{"ClientId":"a","CallbackURLs":["https://a.example/cb"]}]}`, "twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadClients(strings.NewReader(c.json))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	good := Config{URL: "http://localhost:9229", DataDir: t.TempDir(), Clients: []Client{DevClient("http://localhost:8080", "")}, PasswordCost: users.TestCost}
	for _, c := range []struct {
		name string
		edit func(*Config)
	}{
		{"pool id without region", func(c *Config) { c.PoolID = "LocalPool" }},
		{"pool id with slash", func(c *Config) { c.PoolID = "us-east-1_a/b" }},
		{"URL with path", func(c *Config) { c.URL = "http://localhost:9229/idp" }},
		{"URL not http", func(c *Config) { c.URL = "ftp://localhost" }},
		{"no clients", func(c *Config) { c.Clients = nil }},
		{"no data directory", func(c *Config) { c.DataDir = "" }},
		{"weak admin password", func(c *Config) { c.AdminEmail, c.AdminPassword = "admin@example.com", "admin" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			if s, err := New(cfg); err == nil {
				s.Close()
				t.Fatal("New accepted it")
			}
		})
	}
}

// TestClientRedirectURLs: registered callback and sign-out URLs follow
// Amazon Cognito's rule (https, or plain http only on the host
// "localhost"), whatever browsers consider a secure context.
func TestClientRedirectURLs(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want string // "" when accepted, else part of the error
	}{
		{"https://portal.example.com/auth/callback", ""},
		{"https://127.0.0.1:8443/cb", ""},
		{"http://localhost/callback", ""},
		{"http://localhost:8080/auth/callback", ""},
		{"http://localhost:8080/", ""},
		{"http://localhost", ""},
		{"http://127.0.0.1/callback", `only for the host localhost, not "127.0.0.1"`},
		{"http://127.0.0.1:8080/auth/callback", "127.0.0.1"},
		{"http://[::1]:8080/auth/callback", `not "::1"`},
		{"http://LOCALHOST:8080/cb", "LOCALHOST"},
		{"http://localhost.:8080/cb", "localhost."},
		{"http://app.localhost:8080/cb", "app.localhost"},
		{"http://localhost.example.com/cb", "localhost.example.com"},
		{"http://portal.example.com/cb", "https"},
		{"ftp://localhost/cb", "https"},
		{"myapp://callback", "https"},
		{"/cb", "absolute"},
		{"https://portal.example.com/cb#x", "fragment"},
	} {
		for _, field := range []string{"CallbackURLs", "LogoutURLs"} {
			t.Run(field+" "+tt.url, func(t *testing.T) {
				c := Client{ClientId: "a", CallbackURLs: []string{"https://a.example/cb"}}
				if field == "CallbackURLs" {
					c.CallbackURLs = []string{tt.url}
				} else {
					c.LogoutURLs = []string{tt.url}
				}
				err := c.validate()
				switch {
				case tt.want == "" && err != nil:
					t.Fatalf("refused: %v", err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
				}
			})
		}
	}
}
