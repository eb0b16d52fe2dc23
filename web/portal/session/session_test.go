package session_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/usersvc/usersvc/web/portal/session"
)

func open(t *testing.T) *session.Store {
	t.Helper()
	s, err := session.Open(filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLifecycle(t *testing.T) {
	s := open(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sess := &session.Session{Created: now, Seen: now, Expires: now.Add(time.Hour), Flash: "hi"}
	if err := s.Create(sess); err != nil {
		t.Fatal(err)
	}
	if !session.ValidID(sess.ID) {
		t.Fatalf("Create gave id %q, which ValidID refuses", sess.ID)
	}
	got, err := s.Get(sess.ID)
	if err != nil || got.Flash != "hi" || !got.Created.Equal(now) || got.ID != sess.ID {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	// Update commits fn's changes, and an error from fn leaves the session alone.
	if _, err := s.Update(sess.ID, func(x *session.Session) error { x.Flash = ""; x.User = &session.User{Email: "a@b"}; return nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := s.Update(sess.ID, func(x *session.Session) error { x.User = nil; return boom }); err != boom {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if got, _ := s.Get(sess.ID); got.User == nil || got.User.Email != "a@b" || got.Flash != "" {
		t.Fatalf("after updates: %+v", got)
	}

	// Rotate moves the session to a fresh id and forgets the old one.
	old := sess.ID
	if err := s.Rotate(old, got); err != nil {
		t.Fatal(err)
	}
	if got.ID == old {
		t.Fatal("Rotate kept the id")
	}
	if _, err := s.Get(old); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("old id still works: %v", err)
	}
	if _, err := s.Get(got.ID); err != nil {
		t.Errorf("new id: %v", err)
	}

	if err := s.Delete(got.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(got.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("deleted session: %v", err)
	}
	if _, err := s.Update(got.ID, func(*session.Session) error { return nil }); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Update of a deleted session: %v", err)
	}
}

func TestDeleteExpired(t *testing.T) {
	s := open(t)
	now := time.Now()
	live := &session.Session{Expires: now.Add(time.Minute)}
	dead := &session.Session{Expires: now.Add(-time.Minute)}
	for _, x := range []*session.Session{live, dead} {
		if err := s.Create(x); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpired(now)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if _, err := s.Get(live.ID); err != nil {
		t.Errorf("live session gone: %v", err)
	}
	if _, err := s.Get(dead.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("dead session kept: %v", err)
	}
}

// TestUpdateIsAtomic: requests racing to take one flash message; exactly
// one of them may win.
func TestUpdateIsAtomic(t *testing.T) {
	s := open(t)
	sess := &session.Session{Flash: "once"}
	if err := s.Create(sess); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	wins := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			s.Update(sess.ID, func(x *session.Session) error {
				if x.Flash == "" {
					return errors.New("gone")
				}
				x.Flash = ""
				mu.Lock()
				wins++
				mu.Unlock()
				return nil
			})
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d requests took the flash", wins)
	}
}

func TestValidID(t *testing.T) {
	for _, id := range []string{"", "short", session.NewID() + "x", "!" + session.NewID()[1:], "a b"} {
		if session.ValidID(id) {
			t.Errorf("ValidID(%q) = true", id)
		}
	}
	if a, b := session.NewID(), session.NewID(); a == b {
		t.Error("NewID repeated itself")
	}
}

func TestUser(t *testing.T) {
	var nobody *session.User
	if nobody.InGroup("admins") {
		t.Error("nil user in a group")
	}
	u := &session.User{Groups: []string{"x", "admins"}}
	if !u.InGroup("admins") || u.InGroup("adm") {
		t.Error("InGroup wrong")
	}
}
