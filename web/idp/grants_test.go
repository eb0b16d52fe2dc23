package idp

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// signedIn returns a browser signed in as email, not following redirects.
func (e *env) signedIn(email string) *browser {
	e.t.Helper()
	b := newBrowser(e.t)
	login := b.get(e.authorizeURL(e.public, newPKCE(), nil))
	b.follow = false
	if p := b.submit(login, url.Values{"username": {email}, "password": {testPassword}}); p.status != http.StatusFound {
		e.t.Fatalf("sign-in: %d", p.status)
	}
	return b
}

// authorizeAgain asks for a code with b's session and returns the code, or
// the error the client was sent.
func (e *env) authorizeAgain(b *browser, p pkce) (code, errCode string) {
	e.t.Helper()
	resp := b.get(e.authorizeURL(e.public, p, nil))
	loc, err := url.Parse(resp.header.Get("Location"))
	if resp.status != http.StatusFound || err != nil {
		e.t.Fatalf("authorize: %d to %q", resp.status, resp.header.Get("Location"))
	}
	return loc.Query().Get("code"), loc.Query().Get("error")
}

func TestCodesPerSessionCapped(t *testing.T) {
	e := newEnv(t)
	const email = "many@example.com"
	e.signUpAndConfirm(newBrowser(t), email)
	b := e.signedIn(email)
	p := newPKCE()
	var codes []string
	for range MaxCodesPerSession + 1 {
		code, errCode := e.authorizeAgain(b, p)
		if errCode != "" {
			t.Fatalf("authorize: error %s", errCode)
		}
		codes = append(codes, code)
	}
	e.srv.mu.Lock()
	held := len(e.srv.sessionGrants)
	n := 0
	for _, ks := range e.srv.sessionGrants {
		n = max(n, len(ks))
	}
	e.srv.mu.Unlock()
	if n > MaxCodesPerSession {
		t.Fatalf("a session holds %d codes (sessions: %d), want at most %d", n, held, MaxCodesPerSession)
	}
	if status, body := e.exchange(e.public, codes[0], p); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("oldest code after %d more: %d %v, want it evicted", MaxCodesPerSession, status, body)
	}
	if status, body := e.exchange(e.public, codes[len(codes)-1], p); status != http.StatusOK {
		t.Fatalf("newest code: %d %v", status, body)
	}
}

func TestCodesTotalCapped(t *testing.T) {
	e := newEnv(t)
	const email = "total@example.com"
	e.signUpAndConfirm(newBrowser(t), email)
	e.srv.mu.Lock()
	e.srv.limits.total = 3
	e.srv.mu.Unlock()
	p := newPKCE()
	b := e.signedIn(email) // the first code
	for i := range 2 {
		if _, errCode := e.authorizeAgain(b, p); errCode != "" {
			t.Fatalf("code %d: error %s", i+2, errCode)
		}
	}
	if code, errCode := e.authorizeAgain(b, p); errCode != "temporarily_unavailable" || code != "" {
		t.Fatalf("past the limit: code %q, error %q; want temporarily_unavailable", code, errCode)
	}
	// Expired codes make room at once, not at the next periodic sweep.
	e.clock.Advance(CodeTTL)
	if _, errCode := e.authorizeAgain(b, p); errCode != "" {
		t.Fatalf("after the others expired: error %s", errCode)
	}
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	if len(e.srv.grants) != 1 {
		t.Fatalf("%d codes held after the sweep, want 1", len(e.srv.grants))
	}
}

// TestFailedExchangeKeepsCode: a request that fails the code's bindings does
// not use the code up, so the client's corrected retry works.
func TestFailedExchangeKeepsCode(t *testing.T) {
	e := newEnv(t)
	const email = "retry@example.com"
	e.signUpAndConfirm(newBrowser(t), email)
	p := newPKCE()
	code := e.code(e.public, email, p)
	for _, c := range []struct {
		name string
		form url.Values
	}{
		{"wrong verifier", url.Values{"code_verifier": {newPKCE().verifier}}},
		{"no verifier", url.Values{"code_verifier": {""}}},
		{"wrong redirect_uri", url.Values{"redirect_uri": {e.public.CallbackURLs[0] + "x"}}},
		{"another client", url.Values{"client_id": nil}},
	} {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"spa"},
			"redirect_uri": {e.public.CallbackURLs[0]}, "code_verifier": {p.verifier}}
		for k, v := range c.form {
			form[k] = v
		}
		var basic *[2]string
		if c.form.Has("client_id") {
			form.Del("client_id")
			basic = &[2]string{"portal", secret}
		}
		if status, _, body := e.post("/oauth2/token", form, basic); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("%s: %d %v", c.name, status, body)
		}
	}
	status, tok := e.exchange(e.public, code, p)
	if status != http.StatusOK {
		t.Fatalf("retry after failed attempts: %d %v", status, tok)
	}
	// A second presentation without the verifier is refused without
	// revoking: it cannot have been the client's.
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"spa"},
		"redirect_uri": {e.public.CallbackURLs[0]}, "code_verifier": {newPKCE().verifier}}
	if status, _, body := e.post("/oauth2/token", form, nil); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("used code, wrong verifier: %d %v", status, body)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {"spa"}}
	if status, _, body := e.post("/oauth2/token", refresh, nil); status != http.StatusOK {
		t.Fatalf("refresh after a failed replay without the verifier: %d %v", status, body)
	}
}

// TestConcurrentExchange: of simultaneous exchanges of one code, exactly
// one gets tokens.
func TestConcurrentExchange(t *testing.T) {
	e := newEnv(t)
	const email = "race@example.com"
	e.signUpAndConfirm(newBrowser(t), email)
	p := newPKCE()
	code := e.code(e.public, email, p)
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i], _ = e.exchange(e.public, code, p) })
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent exchanges succeeded (%v), want exactly 1", ok, n, statuses)
	}
}
