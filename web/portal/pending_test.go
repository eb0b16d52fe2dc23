package portal

import (
	"fmt"
	"testing"
	"time"

	"github.com/usersvc/usersvc/web/portal/session"
)

func TestPending(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	login := func(state string, at time.Time) session.Login {
		return session.Login{State: state, Nonce: "n-" + state, Started: at}
	}

	t.Run("a flow is taken once, by its browser only", func(t *testing.T) {
		p := newPending(10*time.Minute, 100)
		p.addLogin("a", login("s1", now))
		if _, ok := p.takeLogin("b", "s1", now); ok {
			t.Error("another browser took the flow")
		}
		if l, ok := p.takeLogin("a", "s1", now); !ok || l.Nonce != "n-s1" {
			t.Errorf("take: %v %v", l, ok)
		}
		if _, ok := p.takeLogin("a", "s1", now); ok {
			t.Error("the flow was taken twice")
		}
		if p.len() != 0 {
			t.Errorf("%d entries left", p.len())
		}
	})

	t.Run("flows time out", func(t *testing.T) {
		p := newPending(10*time.Minute, 100)
		p.addLogin("a", login("s1", now))
		if _, ok := p.takeLogin("a", "s1", now.Add(10*time.Minute)); ok {
			t.Error("a flow outlived its timeout")
		}
	})

	t.Run("a browser keeps its newest flows", func(t *testing.T) {
		p := newPending(10*time.Minute, 100)
		for i := range maxLogins + 2 {
			p.addLogin("a", login(fmt.Sprint(i), now))
		}
		if _, ok := p.takeLogin("a", "0", now); ok {
			t.Error("the oldest flow was kept beyond maxLogins")
		}
		if _, ok := p.takeLogin("a", fmt.Sprint(maxLogins+1), now); !ok {
			t.Error("the newest flow was dropped")
		}
	})

	t.Run("bounded, oldest out first", func(t *testing.T) {
		p := newPending(10*time.Minute, 3)
		for i := range 5 {
			p.addLogin(fmt.Sprint("b", i), login("s", now.Add(time.Duration(i)*time.Second)))
		}
		if p.len() != 3 {
			t.Errorf("%d entries, want 3", p.len())
		}
		if _, ok := p.takeLogin("b1", "s", now.Add(5*time.Second)); ok {
			t.Error("an evicted browser's flow survived")
		}
		if _, ok := p.takeLogin("b4", "s", now.Add(5*time.Second)); !ok {
			t.Error("the newest browser's flow was evicted")
		}
	})

	t.Run("flash once", func(t *testing.T) {
		p := newPending(10*time.Minute, 100)
		p.setFlash("a", "bye", now)
		if got := p.takeFlash("b", now); got != "" {
			t.Errorf("another browser got %q", got)
		}
		if got := p.takeFlash("a", now); got != "bye" {
			t.Errorf("flash %q", got)
		}
		if got := p.takeFlash("a", now); got != "" {
			t.Errorf("flash shown twice: %q", got)
		}
		p.setFlash("a", "late", now)
		if got := p.takeFlash("a", now.Add(time.Hour)); got != "" {
			t.Errorf("expired flash shown: %q", got)
		}
	})
}

// BenchmarkPendingAddLogin is the cost of an anonymous sign-in start's
// bookkeeping at the bound.
func BenchmarkPendingAddLogin(b *testing.B) {
	p := newPending(10*time.Minute, pendingMax)
	now := time.Now()
	ids := make([]string, 2*pendingMax)
	for i := range ids {
		ids[i] = session.NewID()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.addLogin(ids[i%len(ids)], session.Login{State: "s", Started: now})
		i++
	}
}
