package idp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/idp/users"
)

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	want := map[string]string{
		"issuer":                 e.srv.Issuer(),
		"authorization_endpoint": e.idp.URL + "/oauth2/authorize",
		"token_endpoint":         e.idp.URL + "/oauth2/token",
		"userinfo_endpoint":      e.idp.URL + "/oauth2/userInfo",
		"revocation_endpoint":    e.idp.URL + "/oauth2/revoke",
		"end_session_endpoint":   e.idp.URL + "/logout",
		"jwks_uri":               e.srv.Issuer() + "/.well-known/jwks.json",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %s", k, doc[k], v)
		}
	}
	if m, _ := doc["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
		t.Errorf("code_challenge_methods_supported = %v", doc["code_challenge_methods_supported"])
	}
	if !strings.HasSuffix(e.srv.Issuer(), "/"+DefaultPoolID) {
		t.Errorf("issuer %s does not end in the pool id", e.srv.Issuer())
	}
}

func TestOutboxPage(t *testing.T) {
	e := newEnv(t)
	e.signUpAndConfirm(newBrowser(t), "mail@example.com")
	p := newBrowser(t).get(e.idp.URL + "/outbox")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	mustContain(t, p, "mail@example.com")
	mustContain(t, p, "Verify your email address")
	mustContain(t, p, "/confirmUser?")

	dir := t.TempDir()
	seedKeys(t, dir)
	off, err := New(Config{URL: "http://localhost:9229", DataDir: dir, Clients: []Client{DevClient("http://localhost:8080", "")}, PasswordCost: users.TestCost})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	rec := httptestGet(off, "/outbox")
	if rec.StatusCode != http.StatusNotFound {
		t.Fatalf("outbox page with Outbox off: %d", rec.StatusCode)
	}
}

func TestPromptLoginForcesSignIn(t *testing.T) {
	e := newEnv(t)
	p := newPKCE()
	b := newBrowser(t)
	b.follow = false
	login := b.open(e.authorizeURL(e.public, p, nil))
	if resp := b.submit(login, url.Values{"username": {adminEmail}, "password": {adminPass}}); resp.status != http.StatusFound {
		t.Fatalf("sign-in: %d", resp.status)
	}
	if resp := b.get(e.authorizeURL(e.public, p, nil)); !strings.Contains(resp.header.Get("Location"), "code=") {
		t.Fatalf("session not used: %q", resp.header.Get("Location"))
	}
	if resp := b.get(e.authorizeURL(e.public, p, url.Values{"prompt": {"login"}})); !strings.HasPrefix(resp.header.Get("Location"), "/login?") {
		t.Fatalf("prompt=login went to %q, want the sign-in page", resp.header.Get("Location"))
	}
}

func TestResetCodeGuessingLocks(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	forgot := b.open(strings.Replace(b.open(e.authorizeURL(e.public, newPKCE(), nil)).url.String(), "/login?", "/forgotPassword?", 1))
	reset := b.submit(forgot, url.Values{"username": {adminEmail}})
	var resp page
	for range LockoutThreshold {
		resp = b.submit(reset, url.Values{"username": {adminEmail}, "code": {"000000"}, "password": {"N3w-password!"}, "confirmPassword": {"N3w-password!"}})
	}
	if resp.status != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong codes: %d", LockoutThreshold, resp.status)
	}
	m, _ := e.srv.Outbox().Latest(adminEmail)
	if resp = b.submit(reset, url.Values{"username": {adminEmail}, "code": {m.Code()}, "password": {"N3w-password!"}, "confirmPassword": {"N3w-password!"}}); resp.status != http.StatusTooManyRequests {
		t.Fatalf("right code while locked: %d", resp.status)
	}
}

func httptestGet(s *Server, path string) *http.Response {
	req, _ := http.NewRequest(http.MethodGet, path, nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	res := rec.Result()
	io.Copy(io.Discard, res.Body)
	return res
}

func TestCORSPreflight(t *testing.T) {
	s := newBareServer(t)
	req := httptest.NewRequest(http.MethodOptions, "/oauth2/token", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", rec.Code, rec.Header())
	}
}
