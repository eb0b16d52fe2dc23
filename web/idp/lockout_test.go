package idp

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// fail is a failed attempt as the handlers make it: reserve, then look.
func fail(l *lockout, name string) (bool, time.Time) {
	if ok, until := l.begin(name); !ok {
		return true, until
	}
	return l.locked(name)
}

func TestLockoutGrows(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLockout(c.Now)
	for i := 1; i < LockoutThreshold; i++ {
		if locked, _ := fail(l, "a"); locked {
			t.Fatalf("locked after %d failures", i)
		}
	}
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, LockoutMax, LockoutMax} {
		locked, until := fail(l, "a")
		if !locked || until.Sub(c.Now()) != want {
			t.Fatalf("locked=%v for %v, want %v", locked, until.Sub(c.Now()), want)
		}
		if ok, _ := l.begin("a"); ok {
			t.Fatal("an attempt was allowed while locked")
		}
		if locked, _ := l.locked("b"); locked {
			t.Fatal("another name is locked too")
		}
		c.Advance(want)
		if locked, _ := l.locked("a"); locked {
			t.Fatalf("still locked after %v", want)
		}
	}
	l.succeed("a")
	if locked, _ := fail(l, "a"); locked {
		t.Fatal("a success did not reset the count")
	}
}

// TestLockoutParallel: guesses sent at once get no more than
// LockoutThreshold tries between them.
func TestLockoutParallel(t *testing.T) {
	l := newLockout(time.Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			if ok, _ := l.begin("a"); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != LockoutThreshold {
		t.Fatalf("%d attempts allowed, want %d", allowed, LockoutThreshold)
	}
}

// TestLockoutParallelSignIns drives the same through the sign-in form:
// parallel wrong passwords get at most LockoutThreshold-1 "incorrect"
// answers before every other one says locked.
func TestLockoutParallelSignIns(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	login := b.get(e.authorizeURL(e.public, newPKCE(), nil))
	const n = 30
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = b.submit(login, url.Values{"username": {adminEmail}, "password": {"Wrong-passw0rd"}}).status
		})
	}
	wg.Wait()
	wrong := 0
	for _, s := range statuses {
		switch s {
		case http.StatusUnauthorized:
			wrong++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("status %d", s)
		}
	}
	if wrong > LockoutThreshold-1 {
		t.Fatalf("%d of %d parallel guesses were checked, want at most %d", wrong, n, LockoutThreshold-1)
	}
}

// TestResetClearsLockoutByTypedName: failures counted under the name as
// typed are cleared by a successful reset under the same key.
func TestResetClearsLockoutByTypedName(t *testing.T) {
	e := newEnv(t)
	const user = "Mixed.Case@Example.com"
	e.signUpAndConfirm(newBrowser(t), user)
	b := newBrowser(t)
	login := b.get(e.authorizeURL(e.public, newPKCE(), nil))
	typed := "  " + user + " "
	for range LockoutThreshold - 1 {
		if p := b.submit(b.get(login.url.String()), url.Values{"username": {typed}, "password": {"Wrong-passw0rd"}}); p.status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", p.status)
		}
	}
	forgot := b.get(login.url.ResolveReference(&url.URL{Path: "/forgotPassword", RawQuery: login.url.RawQuery}).String())
	reset := b.submit(forgot, url.Values{"username": {typed}})
	m, err := e.srv.Outbox().Latest("mixed.case@example.com")
	if err != nil || m.Code() == "" {
		t.Fatalf("no reset code: %v", err)
	}
	const newPass = "N3w-password!"
	if p := b.submit(reset, url.Values{"username": {typed}, "code": {m.Code()}, "password": {newPass}, "confirmPassword": {newPass}}); p.status != http.StatusOK {
		t.Fatalf("reset: %d", p.status)
	}
	if locked, _ := e.srv.lockout.locked(lockoutKey(typed)); locked {
		t.Fatal("locked after a successful reset")
	}
	e.srv.lockout.mu.Lock()
	left := len(e.srv.lockout.names.m)
	e.srv.lockout.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d names still counted after the reset, want none", left)
	}
}
