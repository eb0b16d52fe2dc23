package idp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/usersvc/usersvc/web/idp/users"
)

// liftClientLimits turns off the per-client rate limits of s (see
// harness_test.go); restoreClientLimits puts the defaults back.
func liftClientLimits(s *Server) {
	s.hashRate = newKeyedLimiter(rate.Inf, 1, time.Now)
	s.mail = &mailLimits{
		perAddress: newKeyedLimiter(rate.Inf, 1, time.Now),
		perClient:  newKeyedLimiter(rate.Inf, 1, time.Now),
		exists:     newKeyedLimiter(rate.Inf, 1, time.Now),
	}
}

func restoreClientLimits(s *Server) {
	s.hashRate = newKeyedLimiter(HashRate, HashBurst, time.Now)
	s.mail = newMailLimits(time.Now)
}

// postFrom posts the form on p, as b would, but straight to the provider's
// handler with the given client address (httptest cannot dial from many).
func postFrom(e *env, b *browser, p page, fields url.Values, remote string) *httptest.ResponseRecorder {
	e.t.Helper()
	action, csrf := formOf(e.t, p)
	fields.Set("_csrf", csrf)
	req := httptest.NewRequest(http.MethodPost, p.url.ResolveReference(action).String(), strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range b.c.Jar.Cookies(p.url) {
		req.AddCookie(c)
	}
	req.RemoteAddr = remote
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	return w
}

func (e *env) loginPage(b *browser) page {
	return b.get(e.authorizeURL(e.public, newPKCE(), nil))
}

func (e *env) resetFormPage(b *browser, login page) page {
	q := login.url.Query()
	q.Set("username", "x@example.com")
	return b.get(login.url.ResolveReference(&url.URL{Path: "/confirmForgotPassword", RawQuery: q.Encode()}).String())
}

// The attack of issue 13, point 3: a name with four failures, then a flood
// of cheap reset-form posts (each a new name, from many addresses) to push
// it out of the table. It stays tracked: the fifth failure still locks.
func TestLockoutSurvivesFlood(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	login := e.loginPage(b)
	const victim = "victim@example.com"
	for i := range LockoutThreshold - 1 {
		w := postFrom(e, b, login, url.Values{"username": {victim}, "password": {"Wrong-passw0rd"}}, "198.51.100.1:1000")
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	reset := e.resetFormPage(b, login)
	// Through the handler for a start (the cost is real), then straight at
	// the table, to go well past its cap quickly.
	for i := range 300 {
		w := postFrom(e, b, reset, url.Values{
			"username": {fmt.Sprintf("flood%d@example.com", i)}, "code": {"000000"},
			"password": {"Fl00d-password"}, "confirmPassword": {"Fl00d-password"},
		}, fmt.Sprintf("203.0.%d.%d:1000", i/250, i%250+1))
		if w.Code != http.StatusBadRequest {
			t.Fatalf("flood post %d: %d", i, w.Code)
		}
	}
	for i := range 3 * lockoutCap {
		e.srv.lockout.beginFrom(fmt.Sprintf("flood-direct%d@example.com", i), fmt.Sprintf("10.%d.%d.1", i/250/250, i/250%250))
	}
	// The flood that found the hole in the first fix: other names given as
	// many failures as the victim's, a minute later, so that
	// fewest-failures-first has to choose among equals, and took the
	// oldest, the victim's.
	e.clock.Advance(time.Minute)
	for i := range 2 * lockoutCap {
		for range LockoutThreshold - 1 {
			e.srv.lockout.begin(fmt.Sprintf("flood-equal%d@example.com", i))
		}
	}
	e.srv.lockout.mu.Lock()
	names, clients := len(e.srv.lockout.names.m), len(e.srv.lockout.clients.m)
	e.srv.lockout.mu.Unlock()
	if names > lockoutCap || clients > lockoutCap {
		t.Fatalf("tables hold %d names and %d clients, over the cap %d", names, clients, lockoutCap)
	}
	// From the client of the first guesses, which the flood did not touch:
	// the answer must come from the name's own count.
	w := postFrom(e, b, login, url.Values{"username": {victim}, "password": {"Wrong-passw0rd"}}, "198.51.100.1:1000")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("fifth guess after the flood: %d, want 429 (locked)", w.Code)
	}
	if locked, _ := e.srv.lockout.locked(victim); !locked {
		t.Fatal("the victim's name is not locked after its fifth failure: the flood flushed its count")
	}
}

// Keys are stored normalised and bounded: a 16 KB name costs no more than
// an address, and its case and spaces do not make it a new name.
func TestLockoutKeyBounded(t *testing.T) {
	l := newLockout(time.Now)
	long := strings.Repeat("A", 16<<10)
	for range LockoutThreshold - 1 {
		l.begin(" " + long)
	}
	l.begin(strings.ToLower(long) + "b") // same first 254 bytes: same key
	if locked, _ := l.locked(long); !locked {
		t.Fatal("variants of one long name were counted apart")
	}
	for k := range l.names.m {
		if len(k) > maxNameKey {
			t.Fatalf("stored key of %d bytes", len(k))
		}
	}
}

// One client that tries a few passwords on each of many names is locked
// out as a client.
func TestLockoutPerClient(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	login := e.loginPage(b)
	const client = "198.51.100.7:1000"
	for i := range ClientLockoutThreshold {
		w := postFrom(e, b, login, url.Values{"username": {fmt.Sprintf("n%d@example.com", i)}, "password": {"Wrong-passw0rd"}}, client)
		if w.Code != http.StatusUnauthorized && !(i == ClientLockoutThreshold-1 && w.Code == http.StatusTooManyRequests) {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	w := postFrom(e, b, login, url.Values{"username": {"fresh@example.com"}, "password": {"Wrong-passw0rd"}}, client)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("a new name from a locked client: %d (Retry-After %q), want 429", w.Code, w.Header().Get("Retry-After"))
	}
	w = postFrom(e, b, login, url.Values{"username": {"fresh@example.com"}, "password": {"Wrong-passw0rd"}}, "198.51.100.8:1000")
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("the same name from another client: %d, want 401", w.Code)
	}
}

// Point 2: past its burst, a client's password forms are refused with 429
// and Retry-After before any hashing; other clients are not.
func TestHashRatePerClient(t *testing.T) {
	e := newEnv(t)
	restoreClientLimits(e.srv)
	b := newBrowser(t)
	login := e.loginPage(b)
	limited := 0
	for i := range HashBurst + 5 {
		w := postFrom(e, b, login, url.Values{"username": {fmt.Sprintf("r%d@example.com", i)}, "password": {"Wrong-passw0rd"}}, "198.51.100.9:1000")
		switch w.Code {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited++
			if w.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("attempt %d: %d", i, w.Code)
		}
	}
	if limited < 4 {
		t.Fatalf("%d of %d attempts limited, want at least 4", limited, HashBurst+5)
	}
	w := postFrom(e, b, login, url.Values{"username": {adminEmail}, "password": {adminPass}}, "[2001:db8::1]:1000")
	if w.Code != http.StatusSeeOther && w.Code != http.StatusFound {
		t.Fatalf("another client's sign-in: %d", w.Code)
	}
}

// Point 2: with no hashing slot free, sign-in answers 503 with Retry-After,
// for known and unknown names alike, and the attempt does not count
// toward the lockout (no password was checked).
func TestBusyAnswer(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	login := e.loginPage(b)
	defer users.SetHashLimit(0, 0)()
	for _, name := range []string{adminEmail, "nobody@example.com"} {
		for range LockoutThreshold + 1 {
			w := postFrom(e, b, login, url.Values{"username": {name}, "password": {"Wrong-passw0rd"}}, "198.51.100.10:1000")
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Fatalf("%s: %d (Retry-After %q), want 503 with Retry-After", name, w.Code, w.Header().Get("Retry-After"))
			}
		}
		if locked, _ := e.srv.lockout.lockedFrom(name, "198.51.100.10"); locked {
			t.Fatalf("%s locked by attempts that were never checked", name)
		}
	}
}

// Point 6: 200 reset requests for one address write a handful of mails,
// not 200, and the rest are told to wait; an unknown address is limited
// the same way, so the limit says nothing about accounts.
func TestForgotPasswordMailLimit(t *testing.T) {
	e := newEnv(t)
	restoreClientLimits(e.srv)
	b := newBrowser(t)
	login := e.loginPage(b)
	forgot := b.get(login.url.ResolveReference(&url.URL{Path: "/forgotPassword", RawQuery: login.url.RawQuery}).String())
	for _, name := range []string{adminEmail, "nobody@example.com"} {
		limited := 0
		for i := range 200 {
			// Many clients: the per-address limit is the one at work.
			w := postFrom(e, b, forgot, url.Values{"username": {name}}, fmt.Sprintf("198.51.%d.%d:1000", 100+i/250, i%250+1))
			switch w.Code {
			case http.StatusSeeOther:
			case http.StatusTooManyRequests:
				limited++
				if !strings.Contains(w.Body.String(), msgMailLimit) {
					t.Fatalf("429 page lacks %q", msgMailLimit)
				}
			default:
				t.Fatalf("%s, request %d: %d", name, i, w.Code)
			}
		}
		if limited != 200-MailPerAddress {
			t.Errorf("%s: %d of 200 limited, want %d", name, limited, 200-MailPerAddress)
		}
	}
	ms, _ := e.srv.Outbox().List()
	if len(ms) > MailPerAddress {
		t.Fatalf("%d mails written, want at most %d", len(ms), MailPerAddress)
	}
	// One client, many addresses: the per-client limit.
	limited := 0
	for i := range MailPerClient + 5 {
		w := postFrom(e, b, forgot, url.Values{"username": {fmt.Sprintf("c%d@example.com", i)}}, "192.0.2.1:1000")
		if w.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 5 {
		t.Errorf("one client: %d limited, want 5", limited)
	}
}

// Point 6: signing up again with a confirmed address mails its owner once
// a day, not once per attempt.
func TestSignUpOfConfirmedAddressMailsOnce(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	login := e.loginPage(b)
	signup := b.get(login.url.ResolveReference(&url.URL{Path: "/signup", RawQuery: login.url.RawQuery}).String())
	e.srv.mail.exists = newMailLimits(time.Now).exists
	for i := range 5 {
		w := postFrom(e, b, signup, url.Values{"username": {adminEmail}, "password": {"An0ther-password"}}, fmt.Sprintf("192.0.2.%d:1000", i+1))
		if w.Code != http.StatusOK {
			t.Fatalf("sign-up %d: %d", i, w.Code)
		}
	}
	ms, _ := e.srv.Outbox().List()
	n := 0
	for _, m := range ms {
		if m.To == adminEmail {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d mails to the owner after 5 sign-ups, want 1", n)
	}
}

// Point 6: the outbox shows live codes; it is served to this machine only,
// unless Config.OutboxRemote says otherwise.
func TestOutboxLoopbackOnly(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		remote       string
		outboxRemote bool
		want         int
	}{
		{"127.0.0.1:1000", false, http.StatusOK},
		{"[::1]:1000", false, http.StatusOK},
		{"203.0.113.5:1000", false, http.StatusNotFound},
		{"[2001:db8::5]:1000", false, http.StatusNotFound},
		{"203.0.113.5:1000", true, http.StatusOK},
	} {
		e.srv.outboxRemote = c.outboxRemote
		req := httptest.NewRequest(http.MethodGet, "/outbox", nil)
		req.RemoteAddr = c.remote
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, req)
		if w.Code != c.want {
			t.Errorf("%s (remote allowed %v): %d, want %d", c.remote, c.outboxRemote, w.Code, c.want)
		}
	}
}

// Point 8: a client that goes away mid-request is not an ERROR, nor a 500.
func TestClientGoneIsNotAnError(t *testing.T) {
	e := newEnv(t)
	var logs strings.Builder
	var mu sync.Mutex
	e.srv.log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	b := newBrowser(t)
	login := e.loginPage(b)
	action, csrf := formOf(t, login)
	form := url.Values{"_csrf": {csrf}, "username": {adminEmail}, "password": {adminPass}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, login.url.ResolveReference(action).String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range b.c.Jar.Cookies(login.url) {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	mu.Lock()
	defer mu.Unlock()
	if w.Code == http.StatusInternalServerError || strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("status %d, log:\n%s", w.Code, logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Point 8: a 16 KB path does not make a 16 KB log line.
func TestLongPathClippedInLog(t *testing.T) {
	e := newEnv(t)
	var logs strings.Builder
	var mu sync.Mutex
	e.srv.log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	req := httptest.NewRequest(http.MethodGet, "/"+strings.Repeat("a", 16<<10), nil)
	e.srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
	mu.Lock()
	defer mu.Unlock()
	for line := range strings.Lines(logs.String()) {
		if len(line) > 600 {
			t.Errorf("log line of %d bytes", len(line))
		}
	}
	if !strings.Contains(logs.String(), "truncated, 16385 bytes") {
		t.Errorf("log does not say the path was cut:\n%s", logs.String())
	}
}

// Point 2: under load a reset is busy for an address without an account as
// for one with, so that busy says nothing about accounts.
func TestResetBusyForUnknownAddressToo(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	reset := e.resetFormPage(b, e.loginPage(b))
	defer users.SetHashLimit(0, 0)()
	for _, name := range []string{adminEmail, "nobody@example.com"} {
		w := postFrom(e, b, reset, url.Values{"username": {name}, "code": {"123456"},
			"password": {"N3w-password!"}, "confirmPassword": {"N3w-password!"}}, "198.51.100.20:1000")
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: %d, want 503 with Retry-After", name, w.Code)
		}
	}
}

// When every tracked name has a recent failure (or is locked), no name is
// forgotten to make room: new names share one overflow count, which locks
// like a name's, so they are neither let through uncounted nor able to
// push a tracked name out. Tracked names keep their own counts.
func TestLockoutOverflow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
		locked   bool
	}{
		{"recent failures", LockoutThreshold - 1, false},
		{"a single recent failure", 1, false},
		{"locked", LockoutThreshold, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			l := newLockout(c.Now)
			for i := range lockoutCap {
				a := &attempts{failures: tc.failures, last: c.Now()}
				if tc.locked {
					a.until = c.Now().Add(LockoutMax)
				}
				l.names.m[fmt.Sprintf("n%d", i)] = a
			}
			c.Advance(time.Minute)
			allowed := 0
			for i := range 3 * LockoutThreshold {
				// From no client: only the names' table can say no.
				if ok, _ := l.begin(fmt.Sprintf("new%d@example.com", i)); ok {
					allowed++
				}
			}
			if allowed != LockoutThreshold {
				t.Errorf("%d new names tried a password, want %d (the overflow's threshold)", allowed, LockoutThreshold)
			}
			if locked, _ := l.locked("another@example.com"); !locked {
				t.Error("a new name is not locked once the overflow is")
			}
			if len(l.names.m) > lockoutCap {
				t.Fatalf("%d names, over the cap", len(l.names.m))
			}
			// Tracked names keep their counts.
			if tc.locked {
				if locked, _ := l.locked("n1"); !locked {
					t.Fatal("a locked name was forgotten under pressure")
				}
			} else {
				for range LockoutThreshold - tc.failures {
					l.begin("n1")
				}
				if locked, _ := l.locked("n1"); !locked {
					t.Fatalf("a name with %d recent failures lost its count under pressure", tc.failures)
				}
				if locked, _ := l.locked("n2"); locked {
					t.Fatal("a tracked name is locked by the overflow")
				}
			}
			// Once the tracked failures are forgotten, new names get their
			// own counts again.
			c.Advance(lockoutForget + time.Minute)
			if ok, _ := l.begin("late@example.com"); !ok {
				t.Fatal("a new name refused after the flood was forgotten")
			}
			if locked, _ := l.locked("late@example.com"); locked {
				t.Fatal("a new name locked by a forgotten overflow")
			}
		})
	}
}

// The per-client limiter stays within its bound however many clients come,
// and the clients it holds keep their state.
func TestKeyedLimiterBounded(t *testing.T) {
	k := newKeyedLimiter(rate.Every(time.Hour), 1, time.Now)
	if ok, _ := k.allow("first"); !ok {
		t.Fatal("first token refused")
	}
	for i := range 3 * maxLimited {
		k.allow(fmt.Sprint(i))
	}
	if len(k.m) > maxLimited {
		t.Fatalf("%d keys held, want at most %d", len(k.m), maxLimited)
	}
	if ok, _ := k.allow("first"); ok {
		t.Fatal("a crowd of new keys flushed an exhausted one")
	}
}
