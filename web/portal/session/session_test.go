package session_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/usersvc/usersvc/web/portal/session"
	"github.com/usersvc/usersvc/web/portal/session/sessiontest"
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

func TestContract(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) sessiontest.Store { return open(t) })
}

func TestDeleteExpired(t *testing.T) {
	s := open(t)
	now := time.Now()
	live := &session.Session{Expires: now.Add(time.Minute)}
	dead := &session.Session{Expires: now.Add(-time.Minute), Tokens: &session.Tokens{RefreshToken: "rt"}}
	for _, x := range []*session.Session{live, dead} {
		if err := s.Create(t.Context(), x); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := s.DeleteExpired(t.Context(), now)
	if err != nil || len(gone) != 1 || gone[0].Tokens.RefreshToken != "rt" {
		t.Fatalf("DeleteExpired = %v, %v; want the one expired session, with its tokens", gone, err)
	}
	if _, err := s.Get(t.Context(), live.ID); err != nil {
		t.Errorf("live session gone: %v", err)
	}
	if _, err := s.Get(t.Context(), dead.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("dead session kept: %v", err)
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

func TestClone(t *testing.T) {
	s := &session.Session{User: &session.User{Groups: []string{"a"}}, Tokens: &session.Tokens{AccessToken: "x"}, Pages: map[string]string{"a": "b"}}
	c := s.Clone()
	c.User.Groups[0] = "z"
	c.Tokens.AccessToken = "y"
	c.Pages["a"] = "c"
	if s.User.Groups[0] != "a" || s.Tokens.AccessToken != "x" || s.Pages["a"] != "b" {
		t.Error("Clone shares memory with the original")
	}
}
