package gateway_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/bolt"
	"github.com/usersvc/usersvc/api/gateway"
	"github.com/usersvc/usersvc/api/gateway/internal/testissuer"
)

// serveUserService runs the real user service on an embedded store behind
// the gateway, on loopback, as "portal api" does.
func serveUserService(t testing.TB, iss *testissuer.Issuer, mut ...func(*gateway.Config)) (*httptest.Server, *bolt.Store) {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	handlers := api.New(store, slog.New(slog.DiscardHandler))
	cfg := gateway.Config{
		Routes:     api.Routes,
		Handler:    handlers.Handler,
		Issuer:     iss.URL,
		Audience:   []string{"portal"},
		HTTPClient: iss.Client(),
	}
	for _, m := range mut {
		m(&cfg)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv, store
}

func TestEndToEndWithTheUserService(t *testing.T) {
	iss := testissuer.New(t)
	srv, _ := serveUserService(t, iss)
	now := timeNow()
	admin := iss.Sign(t, iss.IDToken(alice, "portal", now))
	plain := iss.Sign(t, iss.AccessToken(bob, "portal", "openid email", now))

	call := func(method, path, token, body string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}

	item := `{"User":{"UserId":"ana-01","Name":"Ana","Score":12345678901234567890.50,"Tags":["a","b"]}}`
	status, body, h := call("POST", "/user", admin, item)
	if status != 201 || h.Get("Location") != "/user?UserId=ana-01" {
		t.Fatalf("create: %d %s %v", status, body, h)
	}
	var created map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&created); err != nil {
		t.Fatal(err)
	}
	if created[api.AttrCreatedBy] != alice.Sub {
		t.Errorf("CreatedBy = %v, want the caller's sub from the rendered claims", created[api.AttrCreatedBy])
	}
	if status, body, _ := call("POST", "/user", plain, item); status != 409 {
		t.Errorf("second create: %d %s", status, body)
	}
	status, body, _ = call("GET", "/user?UserId=ana-01", plain, "")
	if status != 200 || !strings.Contains(body, `"Score":12345678901234567890.5`) {
		t.Errorf("get: %d %s (numbers keep every digit, in DynamoDB's canonical form)", status, body)
	}
	if status, body, _ := call("GET", "/user?UserId=nobody", plain, ""); status != 404 || body != `{"message":"User not found"}` {
		t.Errorf("get missing: %d %s", status, body)
	}
	if status, body, _ := call("GET", "/users", plain, ""); status != 403 {
		t.Errorf("list as a non-admin: %d %s", status, body)
	}
	if status, body, _ := call("GET", "/users?limit=10", admin, ""); status != 200 || !strings.Contains(body, `"ana-01"`) {
		t.Errorf("list as an admin: %d %s", status, body)
	}
	// One creator's items, the sub taken from the query string as sent.
	if status, body, _ := call("POST", "/user", plain, `{"User":{"UserId":"bob-01"}}`); status != 201 {
		t.Fatalf("create as bob: %d %s", status, body)
	}
	for sub, want := range map[string]string{alice.Sub: "ana-01", bob.Sub: "bob-01"} {
		status, body, _ := call("GET", "/users?createdBy="+url.QueryEscape(sub), admin, "")
		if status != 200 || !strings.Contains(body, `"`+want+`"`) || strings.Count(body, `"UserId"`) != 1 {
			t.Errorf("list by %s: %d %s, want %s alone", sub, status, body, want)
		}
	}
	for _, q := range []string{"createdBy=", "createdBy=a%00", "createdBy=" + strings.Repeat("s", 257)} {
		if status, body, _ := call("GET", "/users?"+q, admin, ""); status != 400 || !strings.Contains(body, `createdBy`) {
			t.Errorf("list %.30s: %d %s, want 400", q, status, body)
		}
	}
	// Bytes that are not UTF-8 reach the function as U+FFFD, as they do
	// in the event's JSON on AWS: a sub nobody has.
	if status, body, _ := call("GET", "/users?createdBy=%FF", admin, ""); status != 200 || body != `{"Users":[]}` {
		t.Errorf("list by %%FF: %d %s", status, body)
	}
	if status, body, _ := call("GET", "/user?UserId=ana-01", "", ""); status != 401 || body != `{"message":"Unauthorized"}` {
		t.Errorf("no token: %d %s", status, body)
	}
	if status, _, _ := call("POST", "/user", "", `{"User":{"UserId":"sneaky"}}`); status != 401 {
		t.Errorf("create without a token: %d", status)
	}
	if status, _, _ := call("GET", "/user?UserId=sneaky", admin, ""); status != 404 {
		t.Errorf("an unauthorized create was stored: %d", status)
	}
}
