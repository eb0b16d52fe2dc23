package portal_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/usersvc/usersvc/web/portal"
	"github.com/usersvc/usersvc/web/portal/session"
)

func loginCookies(h *harness, c *http.Client) []*http.Cookie {
	u, _ := url.Parse(h.url)
	var out []*http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if strings.HasPrefix(ck.Name, "__Host-portal-login-") {
			out = append(out, ck)
		}
	}
	return out
}

// TestSignInFlood: 10,001 anonymous sign-in starts, each with a return
// address of 2 KB, neither grow the portal's memory nor cancel a sign-in
// another browser has in progress: sign-ins in progress live in their own
// browsers.
func TestSignInFlood(t *testing.T) {
	h := newHarness(t)
	victim, cb := stopAtCallback(t, h)
	// A portal of its own that logs nothing, so the log kept by the
	// harness does not count as the portal's memory.
	handler, err := portal.NewServer(portal.Config{
		URL: h.url, Issuer: h.prov.issuer(), ClientID: "portal", ClientSecret: "s3cret",
		Users: h.users, Sessions: h.sessions, Log: slog.New(slog.DiscardHandler), Now: h.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	handler.Warm(t.Context())
	target := "/auth/login?" + url.Values{"return_to": {"/user?UserId=" + strings.Repeat("a", 2000)}}.Encode()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10001 {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", h.url+target, nil))
		if rec.Code != http.StatusFound {
			t.Fatalf("sign-in start: %d", rec.Code)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2<<20 {
		t.Errorf("the heap grew by %d bytes over 10,001 sign-in starts", grew)
	}

	u, _ := url.Parse(cb)
	p := h.get(victim, u.RequestURI())
	if p.status != 200 || !strings.Contains(p.body, "Sign out") {
		t.Errorf("the victim's sign-in did not complete after the flood: %d", p.status)
	}
}

// TestReturnToBounded: a return address over the bound becomes "/"; one
// within it survives sign-in.
func TestReturnToBounded(t *testing.T) {
	h := newHarness(t)
	h.prov.setUser(ada)
	for _, tt := range []struct {
		n    int
		kept bool
	}{{1900, true}, {2100, false}, {100000, false}} {
		path := "/user?UserId=" + strings.Repeat("b", tt.n)
		c := h.browser()
		p := h.get(c, "/auth/login?"+url.Values{"return_to": {path}}.Encode())
		if got := p.url.RequestURI() == path; got != tt.kept {
			t.Errorf("return_to of %d bytes ended at %.60s (kept %v, want %v)", len(path), p.url.RequestURI(), got, tt.kept)
		}
		if !tt.kept && p.url.Path != "/" {
			t.Errorf("return_to of %d bytes ended at %.60s, want /", len(path), p.url.Path)
		}
	}
}

// TestLoginCookiesBounded: a browser that starts many sign-ins holds at
// most three flow cookies, within 4 KB, and its newest flow completes.
func TestLoginCookiesBounded(t *testing.T) {
	h := newHarness(t)
	c := h.browser()
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	var last string
	for i := range 10 {
		resp, err := c.Get(h.url + "/auth/login?" + url.Values{"return_to": {"/profile?x=" + strings.Repeat("c", 1500) + string(rune('a'+i))}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp.Header.Get("Location")
		h.clock.Add(time.Second)
	}
	cookies := loginCookies(h, c)
	size := 0
	for _, ck := range cookies {
		size += len(ck.Name) + len(ck.Value)
	}
	if len(cookies) == 0 || len(cookies) > 3 || size > 4096 {
		t.Errorf("%d flow cookies, %d bytes; want 1 to 3, at most 4096", len(cookies), size)
	}
	c.CheckRedirect = nil
	u, _ := url.Parse(last)
	if p := h.get(c, u.RequestURI()); p.status != 200 || !strings.HasSuffix(p.url.RawQuery, "j") {
		t.Errorf("the newest flow: %d at %.40s", p.status, p.url)
	}
}

// TestOtherDeploymentCookies: cookies made by another deployment of the
// portal (another client secret, another store) on the same host name are
// worth nothing here and are cleared.
func TestOtherDeploymentCookies(t *testing.T) {
	h := newHarness(t)
	other, err := portal.NewServer(portal.Config{
		URL: h.url, Issuer: h.prov.issuer(), ClientID: "portal", ClientSecret: "another-secret",
		Users: h.users, Sessions: h.sessions, Log: slog.New(slog.DiscardHandler), Now: h.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	other.ServeHTTP(rec, httptest.NewRequest("GET", h.url+"/auth/login", nil))
	loc, _ := url.Parse(rec.Header().Get("Location"))
	state := loc.Query().Get("state")
	var foreign *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if strings.HasPrefix(ck.Name, "__Host-portal-login-") {
			foreign = ck
		}
	}
	if foreign == nil || state == "" {
		t.Fatalf("the other deployment set no flow cookie: %v", rec.Header())
	}
	req := httptest.NewRequest("GET", h.url+"/auth/callback?"+url.Values{"state": {state}, "code": {"x"}}.Encode(), nil)
	req.AddCookie(foreign)
	rec = httptest.NewRecorder()
	h.srv.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "expired or was already used") {
		t.Errorf("another deployment's flow: %d", rec.Code)
	}
	if !strings.Contains(strings.Join(rec.Header().Values("Set-Cookie"), "\n"), foreign.Name+"=; Path=/; Max-Age=0") {
		t.Errorf("the foreign flow cookie was not cleared: %q", rec.Header().Values("Set-Cookie"))
	}

	// A session id this store never issued.
	req = httptest.NewRequest("GET", h.url+"/profile", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-portal-session", Value: session.NewID()})
	rec = httptest.NewRecorder()
	h.srv.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || !strings.Contains(strings.Join(rec.Header().Values("Set-Cookie"), "\n"), "__Host-portal-session=; Path=/; Max-Age=0") {
		t.Errorf("a foreign session id: %d, cookies %q", rec.Code, rec.Header().Values("Set-Cookie"))
	}
}

// TestSweepRevokes: sessions the sweep deletes have their refresh tokens
// revoked.
func TestSweepRevokes(t *testing.T) {
	h := newHarness(t)
	h.signIn(ada)
	p, err := portal.NewServer(portal.Config{
		URL: h.url, Issuer: h.prov.issuer(), ClientID: "portal", ClientSecret: "s3cret",
		Users: h.users, Sessions: h.sessions, Log: slog.New(slog.DiscardHandler), Now: h.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Add(31 * time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { p.SweepSessions(ctx, time.Hour); close(done) }()
	// The sweep runs at once, then hourly; the provider reports the
	// revocation, and the test's own timeout catches one that never comes.
	if tok := <-h.prov.revokes; tok == "" {
		t.Error("an empty token was revoked")
	}
	h.prov.mu.Lock()
	n := len(h.prov.revoked)
	h.prov.mu.Unlock()
	if n != 1 {
		t.Errorf("%d refresh tokens revoked, want the swept session's one", n)
	}
	cancel()
	<-done
}

// TestBodyOverLimit: a Create user form over the limit, through the Lambda
// adapter, is the form again with 413, and creates nothing.
func TestBodyOverLimit(t *testing.T) {
	a := newAWSHarness(t, 2)
	c := a.signIn(ada)
	p := a.post(c, "/user/new", url.Values{"UserId": {"big"}, "Attributes": {strings.Repeat("x", 3<<20)}})
	if p.status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d", p.status)
	}
	mustContain(t, p, "The form is too large")
	if _, ok := a.users.items["big"]; ok {
		t.Error("the user was created")
	}
}
