package idp

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAccountFormsPaced: every path through the forms whose work depends on
// whether an account exists (and in what state) is held to the same
// minimum response time.
func TestAccountFormsPaced(t *testing.T) {
	e := newEnv(t)
	const confirmed, pending = "paced@example.com", "pending@example.com"
	e.signUpAndConfirm(newBrowser(t), confirmed)
	b := newBrowser(t)
	login := b.get(e.authorizeURL(e.public, newPKCE(), nil))
	pageOf := func(path string) page { return b.get(strings.Replace(login.url.String(), "/login?", path, 1)) }
	b.submit(pageOf("/signup?"), url.Values{"username": {pending}, "password": {testPassword}})
	e.sleeps.take()

	const newPass = "N3w-password!"
	for _, c := range []struct {
		name string
		page string
		form url.Values
		min  time.Duration
	}{
		{"forgot, unknown address", "/forgotPassword?", url.Values{"username": {"nobody@example.com"}}, MinForgotTime},
		{"forgot, account", "/forgotPassword?", url.Values{"username": {confirmed}}, MinForgotTime},
		{"sign-up, new address", "/signup?", url.Values{"username": {"fresh@example.com"}, "password": {testPassword}}, MinSignUpTime},
		{"sign-up, unconfirmed account", "/signup?", url.Values{"username": {pending}, "password": {testPassword}}, MinSignUpTime},
		{"sign-up, confirmed account", "/signup?", url.Values{"username": {confirmed}, "password": {testPassword}}, MinSignUpTime},
		{"reset, unknown address", "/confirmForgotPassword?", url.Values{"username": {"nobody@example.com"}, "code": {"123456"}, "password": {newPass}, "confirmPassword": {newPass}}, MinResetTime},
		{"reset, account", "/confirmForgotPassword?", url.Values{"username": {confirmed}, "code": {"123456"}, "password": {newPass}, "confirmPassword": {newPass}}, MinResetTime},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := b.submit(pageOf(c.page), c.form)
			if p.status >= 500 {
				t.Fatalf("status %d", p.status)
			}
			// The wall clock is frozen: the work took no time, so the
			// whole minimum is waited out.
			if got := e.sleeps.take(); !slices.Equal(got, []time.Duration{c.min}) {
				t.Fatalf("waited %v, want %v", got, c.min)
			}
		})
	}
}

func TestPacer(t *testing.T) {
	const min = 100 * time.Millisecond
	for _, c := range []struct {
		name string
		work time.Duration
		want []time.Duration
	}{
		{"quick work waits the rest", 30 * time.Millisecond, []time.Duration{70 * time.Millisecond}},
		{"work of exactly the minimum", min, []time.Duration{0}},
		{"slow work does not wait", 2 * min, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			rec := &sleepRecorder{}
			p := newPacer(slog.New(slog.DiscardHandler))
			p.now, p.sleep = func() time.Time { return wall }, rec.sleep
			wait := p.start(context.Background(), min)
			wall = wall.Add(c.work)
			wait()
			if got := rec.take(); !slices.Equal(got, c.want) {
				t.Fatalf("slept %v, want %v", got, c.want)
			}
		})
	}
	t.Run("slow forms under load warn once, not each", func(t *testing.T) {
		var logs strings.Builder
		wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		p := newPacer(slog.New(slog.NewTextHandler(&logs, nil)))
		p.now, p.sleep = func() time.Time { return wall }, (&sleepRecorder{}).sleep
		for range 100 {
			wait := p.start(context.Background(), min)
			wall = wall.Add(2 * min)
			wait()
		}
		if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
			t.Fatalf("%d warnings for 100 slow forms, want 1", n)
		}
	})
	t.Run("sleep ends with the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		sleepContext(ctx, time.Hour)
		if time.Since(start) > time.Second {
			t.Fatal("sleepContext ignored a cancelled context")
		}
	})
}
