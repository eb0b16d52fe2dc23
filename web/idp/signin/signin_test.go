package signin_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/idp"
	"github.com/usersvc/usersvc/web/idp/signin"
	"github.com/usersvc/usersvc/web/idp/users"
)

const (
	callback = "http://localhost:8080/auth/callback"
	password = "Adm1n-password"
)

func provider(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	srv, err := idp.New(idp.Config{
		URL: "http://" + ts.Listener.Addr().String(), DataDir: t.TempDir(), PasswordCost: users.TestCost,
		Clients: []idp.Client{
			idp.DevClient("http://localhost:8080", ""),
			{ClientId: "conf", ClientSecret: "s3cret&more", CallbackURLs: []string{callback}, AllowedOAuthScopes: []string{"openid", "email"}},
		},
		AdminEmail: "admin@example.com", AdminPassword: password,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

func TestRun(t *testing.T) {
	ts := provider(t)
	ctx := context.Background()
	for _, c := range []struct{ client, secret string }{{"portal", ""}, {"conf", "s3cret&more"}} {
		tok, err := signin.Run(ctx, signin.Config{
			URL: ts.URL, ClientID: c.client, ClientSecret: c.secret, RedirectURI: callback,
			Scopes: []string{"openid", "email"}, Username: "admin@example.com", Password: password,
		})
		if err != nil {
			t.Fatalf("%s: %v", c.client, err)
		}
		if tok.AccessToken == "" || tok.IDToken == "" || tok.RefreshToken == "" || !strings.Contains(string(tok.Raw), `"access_token"`) {
			t.Fatalf("%s: tokens %+v", c.client, tok)
		}
	}
}

func TestRunFails(t *testing.T) {
	ts := provider(t)
	ctx := context.Background()
	good := signin.Config{
		URL: ts.URL, ClientID: "portal", RedirectURI: callback, Scopes: []string{"openid"},
		Username: "admin@example.com", Password: password,
	}
	for _, c := range []struct {
		name     string
		edit     func(*signin.Config)
		rejected bool
		text     string
	}{
		{"wrong password", func(c *signin.Config) { c.Password = "Wrong-passw0rd" }, true, "Incorrect username or password"},
		{"unknown client", func(c *signin.Config) { c.ClientID = "nobody" }, false, "unknown client_id"},
		{"unregistered callback", func(c *signin.Config) { c.RedirectURI = "http://localhost:8080/other" }, false, "redirect_uri mismatch"},
		{"scope not allowed", func(c *signin.Config) { c.Scopes = []string{"phone"} }, false, "invalid_scope"},
		{"wrong secret", func(c *signin.Config) { c.ClientID, c.ClientSecret = "conf", "nope" }, false, "invalid_client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			_, err := signin.Run(ctx, cfg)
			if err == nil || errors.Is(err, signin.ErrRejected) != c.rejected || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("err = %v; want rejected=%v and %q", err, c.rejected, c.text)
			}
		})
	}
}
