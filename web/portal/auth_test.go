package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSignIn(t *testing.T) {
	h := newHarness(t)
	c := h.browser()

	home := h.get(c, "/")
	mustContain(t, home, ">Sign in<", ">Sign up<")
	mustNotContain(t, home, "Sign out", "Create user")

	// A protected page sends the browser through sign-in and back to it.
	h.prov.setUser(admin)
	p := h.get(c, "/profile?x=1")
	if p.status != 200 || p.url.Path != "/profile" || p.url.RawQuery != "x=1" {
		t.Fatalf("ended at %s (%d)", p.url, p.status)
	}
	mustContain(t, p, "admin@example.com", "sub-admin", "admins", "Sign out", "Signed in as admin@example.com.", `href="/admin/users"`)

	q := h.prov.authorize[0]
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Errorf("authorize request lacks PKCE, nonce or state: %v", q)
	}
	if q.Get("redirect_uri") != h.url+"/auth/callback" || q.Get("scope") != "openid email" {
		t.Errorf("authorize request: %v", q)
	}

	ck := h.cookie(c)
	if ck == nil {
		t.Fatal("no __Host-portal-session cookie")
	}
	// The flash was shown once.
	mustNotContain(t, h.get(c, "/profile"), "Signed in as")

	// No token reaches a page or a log line.
	h.users.items["x"] = map[string]any{"UserId": "x"}
	h.get(c, "/user?UserId=x")
	tok := h.users.lastToken()
	if tok == "" {
		t.Fatal("the API got no token")
	}
	if strings.Contains(h.logs.String(), tok) || strings.Contains(p.body, tok) {
		t.Error("the access token leaked into a page or the log")
	}
	if strings.Contains(h.logs.String(), "code=") {
		t.Error("an authorization code was logged")
	}
}

func TestSessionCookie(t *testing.T) {
	h := newHarness(t)
	h.prov.setUser(ada)
	c := h.browser()
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/callback" || via[len(via)-1].URL.Path == "/auth/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	signIn := func(path string) *http.Response {
		t.Helper()
		r1, err := c.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		r1.Body.Close()
		r2, err := c.Get(r1.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusSeeOther {
			t.Fatalf("callback answered %d", r2.StatusCode)
		}
		return r2
	}

	// Until the callback, the browser holds only the id of its sign-in in
	// progress, flagged as the session cookie is.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r1, err := noFollow.Get(h.url + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	r1.Body.Close()
	if len(r1.Header.Values("Set-Cookie")) != 1 {
		t.Errorf("cookies set at sign-in start: %q", r1.Header.Values("Set-Cookie"))
	}
	pending := r1.Header.Get("Set-Cookie")
	for _, want := range []string{"__Host-portal-login-", "Path=/", "Max-Age=600", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(pending, want) {
			t.Errorf("Set-Cookie %q lacks %q", pending, want)
		}
	}

	var set string
	for _, v := range signIn("/auth/login").Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "__Host-portal-session=") {
			set = v
		} else if !strings.Contains(v, "Max-Age=0") {
			t.Errorf("the callback set %q; want only the session cookie, and the flow's removed", v)
		}
	}
	for _, want := range []string{"__Host-portal-session=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %q", set, want)
		}
	}
	if strings.Contains(set, "Domain=") {
		t.Errorf("Set-Cookie %q has a Domain", set)
	}
	before := h.cookie(c)
	if before == nil {
		t.Fatal("no session cookie after sign-in")
	}

	// Signing in again (here through sign-up) rotates the id: the old one
	// no longer names any session.
	signIn("/auth/signup")
	if after := h.cookie(c); after == nil || after.Value == before.Value {
		t.Error("the session id was not rotated at sign-in")
	}
	if _, err := h.sessions.Get(t.Context(), before.Value); err == nil {
		t.Error("the previous session still exists")
	}
}

func TestReturnToStaysLocal(t *testing.T) {
	h := newHarness(t)
	for _, rt := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "evil", "/auth/logout"} {
		c := h.browser()
		p := h.get(c, "/auth/login?"+url.Values{"return_to": {rt}}.Encode())
		if p.url.Host != strings.TrimPrefix(h.url, "http://") || p.url.Path != "/" {
			t.Errorf("return_to %q ended at %s", rt, p.url)
		}
	}
	c := h.browser()
	if p := h.get(c, "/auth/login?return_to="+url.QueryEscape("/user?UserId=a%20b")); p.url.RequestURI() != "/user?UserId=a%20b" {
		t.Errorf("local return_to ended at %s", p.url)
	}
}

// stopAtCallback returns a browser that stops before following the
// provider's redirect to the callback, and the callback URL.
func stopAtCallback(t *testing.T, h *harness) (*http.Client, string) {
	c := h.browser()
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Get(h.url + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, "/auth/callback?") {
		t.Fatalf("provider redirected to %q", loc)
	}
	c.CheckRedirect = nil
	return c, loc
}

func TestCallbackFailures(t *testing.T) {
	h := newHarness(t)

	t.Run("bad state", func(t *testing.T) {
		c, cb := stopAtCallback(t, h)
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", "forged")
		u.RawQuery = q.Encode()
		p := h.get(c, u.RequestURI())
		if p.status != http.StatusBadRequest {
			t.Errorf("status %d", p.status)
		}
		mustContain(t, p, "Sign-in failed", "expired or was already used", "request id")
		mustNotContain(t, p, "Sign out")
	})

	t.Run("replayed callback", func(t *testing.T) {
		c, cb := stopAtCallback(t, h)
		u, _ := url.Parse(cb)
		if p := h.get(c, u.RequestURI()); p.status != 200 || !strings.Contains(p.body, "Sign out") {
			t.Fatalf("first callback: %d", p.status)
		}
		p := h.get(c, u.RequestURI())
		if p.status != http.StatusBadRequest {
			t.Errorf("replay status %d", p.status)
		}
		mustContain(t, p, "Sign-in failed")
	})

	t.Run("callback in another browser", func(t *testing.T) {
		_, cb := stopAtCallback(t, h)
		u, _ := url.Parse(cb)
		p := h.get(h.browser(), u.RequestURI())
		if p.status != http.StatusBadRequest {
			t.Errorf("status %d", p.status)
		}
	})

	t.Run("wrong code", func(t *testing.T) {
		c, cb := stopAtCallback(t, h)
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("code", "forged")
		u.RawQuery = q.Encode()
		p := h.get(c, u.RequestURI())
		if p.status != http.StatusBadRequest {
			t.Errorf("status %d", p.status)
		}
		mustContain(t, p, "could not be completed")
	})

	t.Run("provider error", func(t *testing.T) {
		c, cb := stopAtCallback(t, h)
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		q.Set("error_description", "<script>x</script>")
		u.RawQuery = q.Encode()
		p := h.get(c, u.RequestURI())
		if p.status != http.StatusBadRequest {
			t.Errorf("status %d", p.status)
		}
		mustContain(t, p, "cancelled or refused")
		mustNotContain(t, p, "<script>")
	})

	t.Run("nonce mismatch", func(t *testing.T) {
		h.prov.mu.Lock()
		h.prov.nonceOverride = "other"
		h.prov.mu.Unlock()
		defer func() { h.prov.mu.Lock(); h.prov.nonceOverride = ""; h.prov.mu.Unlock() }()
		c := h.browser()
		p := h.get(c, "/auth/login")
		if p.status != http.StatusBadRequest || strings.Contains(p.body, "Sign out") {
			t.Errorf("status %d", p.status)
		}
	})

	t.Run("slow sign-in", func(t *testing.T) {
		c, cb := stopAtCallback(t, h)
		h.clock.Add(11 * time.Minute)
		defer h.clock.Add(-11 * time.Minute)
		u, _ := url.Parse(cb)
		if p := h.get(c, u.RequestURI()); p.status != http.StatusBadRequest {
			t.Errorf("status %d", p.status)
		}
	})
}

func TestExpiredSession(t *testing.T) {
	h := newHarness(t)
	t.Run("idle", func(t *testing.T) {
		c := h.signIn(ada)
		h.clock.Add(29 * time.Minute)
		if p := h.get(c, "/"); !strings.Contains(p.body, "Sign out") {
			t.Fatal("signed out after 29 minutes")
		}
		h.clock.Add(31 * time.Minute)
		p := h.get(c, "/")
		mustContain(t, p, ">Sign in<")
		mustNotContain(t, p, "Sign out")
		if h.cookie(c) != nil {
			t.Error("the expired session's cookie was not cleared")
		}
	})
	t.Run("absolute", func(t *testing.T) {
		c := h.signIn(ada)
		for range 8 * 3 { // active every 20 minutes for 8 hours
			h.clock.Add(20 * time.Minute)
			h.prov.mu.Lock()
			h.prov.expiresIn = 3600
			h.prov.mu.Unlock()
			h.get(c, "/")
		}
		req, _ := http.NewRequest("GET", h.url+"/profile", nil)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		p := h.do(c, req)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/auth/login?return_to=%2Fprofile") {
			t.Errorf("after 8 hours: %d to %q", p.status, p.header.Get("Location"))
		}
	})
}

func TestTamperedCookie(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)
	ck := h.cookie(c)
	u, _ := url.Parse(h.url)
	for _, v := range []string{ck.Value[:len(ck.Value)-1] + "A", "", "x", strings.Repeat("A", 43), ck.Value + "="} {
		if v == ck.Value {
			continue
		}
		jarless := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", h.url+"/profile", nil)
		req.AddCookie(&http.Cookie{Name: "__Host-portal-session", Value: v})
		p := h.do(jarless, req)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/auth/login") {
			t.Errorf("cookie %q: %d to %q", v, p.status, p.header.Get("Location"))
		}
	}
	_ = u
	// The genuine cookie still works.
	if p := h.get(c, "/profile"); p.status != 200 {
		t.Errorf("genuine cookie: %d", p.status)
	}
}

func TestSignOut(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)
	p := h.post(c, "/auth/logout", nil)
	if p.url.Path != "/" {
		t.Fatalf("sign-out ended at %s", p.url)
	}
	mustContain(t, p, "You have signed out.", ">Sign in<")
	mustNotContain(t, p, "Sign out")
	if len(h.prov.logouts) != 1 {
		t.Fatalf("provider /logout visited %d times", len(h.prov.logouts))
	}
	lq := h.prov.logouts[0]
	if lq.Get("client_id") != "portal" || lq.Get("logout_uri") != h.url+"/" {
		t.Errorf("logout query %v", lq)
	}
	if len(h.prov.revoked) != 1 || len(h.prov.refresh) != 0 {
		t.Errorf("refresh token not revoked: revoked %d, live %d", len(h.prov.revoked), len(h.prov.refresh))
	}
	// A protected page now asks for sign-in again.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if p := h.get(c, "/profile"); p.status != http.StatusSeeOther {
		t.Errorf("after sign-out /profile answered %d", p.status)
	}
}

func TestSignUp(t *testing.T) {
	h := newHarness(t)
	c := h.browser()
	p := h.get(c, "/auth/signup")
	if h.prov.signups != 1 {
		t.Fatalf("provider /signup visited %d times", h.prov.signups)
	}
	mustContain(t, p, "Sign out")
}

func TestRefresh(t *testing.T) {
	h := newHarness(t)
	h.prov.expiresIn = 60 // inside the refresh margin from the start
	c := h.signIn(ada)
	h.users.items["x"] = map[string]any{"UserId": "x"}
	first := h.users.lastToken()
	if p := h.get(c, "/user?UserId=x"); p.status != 200 {
		t.Fatalf("lookup: %d", p.status)
	}
	if h.prov.refreshes == 0 {
		t.Fatal("the access token was not refreshed")
	}
	if h.users.lastToken() == first || h.users.lastToken() == "" {
		t.Error("the API did not get the refreshed token")
	}

	// A revoked refresh token ends the session: back to sign in.
	h.prov.mu.Lock()
	clear(h.prov.refresh)
	h.prov.mu.Unlock()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := h.get(c, "/user?UserId=x")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/auth/login") {
		t.Errorf("after revocation: %d to %q", p.status, p.header.Get("Location"))
	}
}

// TestRefreshedIDTokenChecked: a refresh whose ID token fails verification
// or names another subject ends the session and sends the user to sign in,
// rather than showing "sign-in unavailable" or switching users.
func TestRefreshedIDTokenChecked(t *testing.T) {
	for name, change := range map[string]func(map[string]any){
		"another subject":  func(c map[string]any) { c["sub"] = "sub-mallory" },
		"another audience": func(c map[string]any) { c["aud"] = "other-client" },
		"another issuer":   func(c map[string]any) { c["iss"] = "https://elsewhere.example/pool" },
		"expired":          func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.prov.expiresIn = 60 // inside the refresh margin from the start
			c := h.signIn(ada)
			old := h.cookie(c)
			h.prov.mu.Lock()
			h.prov.refreshID = change
			h.prov.mu.Unlock()
			h.users.items["x"] = map[string]any{"UserId": "x"}
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			p := h.get(c, "/user?UserId=x")
			if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/auth/login") {
				t.Errorf("%d to %q, want a redirect to sign in", p.status, p.header.Get("Location"))
			}
			if h.prov.refreshes == 0 {
				t.Fatal("no refresh happened")
			}
			if _, err := h.sessions.Get(t.Context(), old.Value); err == nil {
				t.Error("the session survived")
			}
			if h.cookie(c) != nil {
				t.Error("the session cookie was not cleared")
			}
		})
	}
}

func TestProviderDown(t *testing.T) {
	h := newHarness(t)
	h.prov.srv.Close()
	p := h.get(h.browser(), "/auth/login")
	if p.status != http.StatusServiceUnavailable {
		t.Errorf("status %d", p.status)
	}
	mustContain(t, p, "Sign-in is unavailable", "request id")
}

// TestAnonymousRequestsStoreNothing: starting a sign-in, failing a callback
// and the flash after sign-out cost no session on disk; only a sign-in does.
func TestAnonymousRequestsStoreNothing(t *testing.T) {
	h := newHarness(t)
	count := func() int {
		t.Helper()
		// Everything expires before the year 3000: this counts and clears.
		gone, err := h.sessions.DeleteExpired(t.Context(), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		return len(gone)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 300 {
		resp, err := noFollow.Get(h.url + "/auth/login?return_to=/profile")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("login: %d", resp.StatusCode)
		}
	}
	if p := h.get(h.browser(), "/auth/callback?state=x&code=y"); p.status != http.StatusBadRequest {
		t.Errorf("forged callback: %d", p.status)
	}
	if n := count(); n != 0 {
		t.Fatalf("anonymous requests stored %d sessions", n)
	}

	c := h.signIn(ada)
	if n := count(); n != 1 {
		t.Fatalf("%d sessions after one sign-in", n)
	}
	c = h.signIn(ada)
	p := h.post(c, "/auth/logout", nil)
	mustContain(t, p, "You have signed out.")
	if n := count(); n != 0 {
		t.Errorf("%d sessions after sign-out", n)
	}
}

// TestSignInAgainRevokesOld: a signed-in browser that signs in again (sign
// up while signed in) gets a new session; the old one is gone, and so is
// its refresh token, which no session holds any more.
func TestSignInAgainRevokesOld(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)
	if p := h.get(c, "/auth/signup"); p.status != 200 || !strings.Contains(p.body, "Sign out") {
		t.Fatalf("second sign-in: %d at %s", p.status, p.url)
	}
	h.prov.mu.Lock()
	live, revoked := len(h.prov.refresh), len(h.prov.revoked)
	h.prov.mu.Unlock()
	if live != 1 || revoked != 1 {
		t.Errorf("%d refresh tokens live, %d revoked; want the new session's live and the old one's revoked", live, revoked)
	}
}
