// Package sessiontest is the contract every store of portal sessions must
// keep, as a test suite: the bbolt store (package session) and the DynamoDB
// store (package session/dynamo) both run it.
package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/usersvc/usersvc/web/portal/session"
)

// Store is what the suite exercises: the portal's view of a session store.
type Store interface {
	Get(ctx context.Context, id string) (*session.Session, error)
	Create(ctx context.Context, sess *session.Session) error
	Update(ctx context.Context, sess *session.Session, fn func(*session.Session) error) (*session.Session, error)
	Rotate(ctx context.Context, oldID string, sess *session.Session) error
	Delete(ctx context.Context, id string) error
}

// Run checks that the stores newStore makes keep the contract. newStore
// must return a new, empty store on every call and register its own
// cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	tests := []struct {
		name string
		test func(t *testing.T, s Store)
	}{
		{"GetMissing", testGetMissing},
		{"CreateThenGet", testCreateThenGet},
		{"CreateNeverReusesAnID", testCreateDistinct},
		{"UpdateCommitsOrNothing", testUpdate},
		{"UpdateFromStaleReadKeepsBoth", testStaleUpdate},
		{"ConcurrentUpdatesAllLand", testConcurrentUpdates},
		{"FlashTakenOnce", testTakeOnce},
		{"DeleteIsFinal", testDeleteIsFinal},
		{"RotateIsFinal", testRotateIsFinal},
		{"RotateRacingUpdates", testRotateRacingUpdates},
		{"ExpiredIsNeverLive", testExpired},
		{"CancelledContext", testCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.test(t, newStore(t))
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fresh() *session.Session {
	return &session.Session{Created: t0, Seen: t0, Expires: time.Now().Add(time.Hour).Truncate(time.Second)}
}

func mustCreate(t *testing.T, s Store, sess *session.Session) *session.Session {
	t.Helper()
	if err := s.Create(t.Context(), sess); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !session.ValidID(sess.ID) {
		t.Fatalf("Create gave id %q, which ValidID refuses", sess.ID)
	}
	return sess
}

func mustGet(t *testing.T, s Store, id string) *session.Session {
	t.Helper()
	got, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return got
}

func testGetMissing(t *testing.T, s Store) {
	for _, id := range []string{"", "x", session.NewID()} {
		if _, err := s.Get(t.Context(), id); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if err := s.Delete(t.Context(), session.NewID()); err != nil {
		t.Errorf("Delete of a missing session: %v", err)
	}
	if _, err := s.Update(t.Context(), &session.Session{ID: session.NewID()}, func(*session.Session) error { return nil }); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Update of a missing session = %v, want ErrNotFound", err)
	}
}

func testCreateThenGet(t *testing.T, s Store) {
	sess := fresh()
	sess.User = &session.User{Subject: "sub-1", Username: "ada", Email: "ada@example.com", EmailVerified: true, Groups: []string{"admins"}, AuthTime: t0}
	sess.Tokens = &session.Tokens{AccessToken: "at", RefreshToken: "rt", IDToken: "it", Expiry: t0.Add(time.Hour)}
	sess.Flash = "Signed in."
	sess.Pages = map[string]string{"c2": "c1"}
	mustCreate(t, s, sess)
	got := mustGet(t, s, sess.ID)
	if got.ID != sess.ID || !got.Created.Equal(t0) || !got.Expires.Equal(sess.Expires) || got.Flash != "Signed in." ||
		got.User == nil || got.User.Email != "ada@example.com" || !got.User.InGroup("admins") || !got.User.AuthTime.Equal(t0) ||
		got.Tokens == nil || got.Tokens.RefreshToken != "rt" || got.Pages["c2"] != "c1" {
		t.Errorf("Get = %+v (user %+v, tokens %+v)", got, got.User, got.Tokens)
	}
}

func testCreateDistinct(t *testing.T, s Store) {
	a := mustCreate(t, s, fresh())
	b := fresh()
	b.Flash = "b"
	mustCreate(t, s, b)
	if a.ID == b.ID {
		t.Fatal("two creates gave one id")
	}
	if got := mustGet(t, s, a.ID); got.Flash != "" {
		t.Errorf("the first session was overwritten: %+v", got)
	}
}

func testUpdate(t *testing.T, s Store) {
	sess := mustCreate(t, s, fresh())
	upd, err := s.Update(t.Context(), sess, func(x *session.Session) error { x.Flash = "hi"; return nil })
	if err != nil || upd.Flash != "hi" || upd.ID != sess.ID {
		t.Fatalf("Update = %+v, %v", upd, err)
	}
	boom := errors.New("boom")
	if _, err := s.Update(t.Context(), upd, func(x *session.Session) error { x.Flash = "lost"; return boom }); err != boom {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if got := mustGet(t, s, sess.ID); got.Flash != "hi" {
		t.Errorf("after a failed update: flash %q", got.Flash)
	}
	// The returned session is good for the next update.
	if _, err := s.Update(t.Context(), upd, func(x *session.Session) error { x.Flash = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, sess.ID); got.Flash != "" {
		t.Errorf("flash %q after clearing", got.Flash)
	}
}

// testStaleUpdate: two requests read the session, both change it; the
// second's change is applied to the first's result, not over it.
func testStaleUpdate(t *testing.T, s Store) {
	sess := mustCreate(t, s, fresh())
	a, b := mustGet(t, s, sess.ID), mustGet(t, s, sess.ID)
	if _, err := s.Update(t.Context(), a, func(x *session.Session) error { x.Flash = "from a"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(t.Context(), b, func(x *session.Session) error {
		if x.Pages == nil {
			x.Pages = map[string]string{}
		}
		x.Pages["k"] = "from b"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, sess.ID)
	if got.Flash != "from a" || got.Pages["k"] != "from b" {
		t.Errorf("a change was lost: flash %q, pages %v", got.Flash, got.Pages)
	}
}

func testConcurrentUpdates(t *testing.T, s Store) {
	sess := mustCreate(t, s, fresh())
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			read, err := s.Get(t.Context(), sess.ID)
			if err != nil {
				errs <- err
				return
			}
			_, err = s.Update(t.Context(), read, func(x *session.Session) error {
				if x.Pages == nil {
					x.Pages = map[string]string{}
				}
				x.Pages[fmt.Sprint(i)] = "x"
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent update: %v", err)
		}
	}
	if got := mustGet(t, s, sess.ID); len(got.Pages) != n {
		t.Errorf("%d of %d concurrent changes landed: %v", len(got.Pages), n, got.Pages)
	}
}

// testTakeOnce: requests racing to take one flash message; exactly one of
// them may succeed (fn may run more than once, but commits once).
func testTakeOnce(t *testing.T, s Store) {
	sess := fresh()
	sess.Flash = "once"
	mustCreate(t, s, sess)
	var (
		mu   sync.Mutex
		wins int
		wg   sync.WaitGroup
	)
	gone := errors.New("gone")
	for range 8 {
		wg.Go(func() {
			read, err := s.Get(t.Context(), sess.ID)
			if err != nil {
				t.Error(err)
				return
			}
			_, err = s.Update(t.Context(), read, func(x *session.Session) error {
				if x.Flash == "" {
					return gone
				}
				x.Flash = ""
				return nil
			})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if err != gone {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d requests took the flash", wins)
	}
}

// testDeleteIsFinal: a request that read the session before sign-out
// cannot bring it back by writing.
func testDeleteIsFinal(t *testing.T, s Store) {
	sess := mustCreate(t, s, fresh())
	stale := mustGet(t, s, sess.ID)
	if err := s.Delete(t.Context(), sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(t.Context(), stale, func(x *session.Session) error { x.Flash = "back"; return nil }); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Update after Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(t.Context(), sess.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
}

func testRotateIsFinal(t *testing.T, s Store) {
	old := mustCreate(t, s, fresh())
	stale := mustGet(t, s, old.ID)
	next := fresh()
	next.User = &session.User{Subject: "sub-1"}
	if err := s.Rotate(t.Context(), old.ID, next); err != nil {
		t.Fatal(err)
	}
	if next.ID == old.ID || !session.ValidID(next.ID) {
		t.Fatalf("Rotate gave id %q (old %q)", next.ID, old.ID)
	}
	if _, err := s.Update(t.Context(), stale, func(x *session.Session) error { x.Flash = "back"; return nil }); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Update of the rotated-away id = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(t.Context(), old.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("old id: %v, want ErrNotFound", err)
	}
	if got := mustGet(t, s, next.ID); got.User == nil || got.User.Subject != "sub-1" {
		t.Errorf("rotated session: %+v", got)
	}
	// Rotating from no session at all is a create.
	first := fresh()
	if err := s.Rotate(t.Context(), "", first); err != nil || !session.ValidID(first.ID) {
		t.Errorf("Rotate from nothing: %v, id %q", err, first.ID)
	}
}

// testRotateRacingUpdates: updates of the old id racing a rotation either
// land before it or fail; the old id never comes back.
func testRotateRacingUpdates(t *testing.T, s Store) {
	old := mustCreate(t, s, fresh())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			read, err := s.Get(t.Context(), old.ID)
			if err != nil {
				return
			}
			_, err = s.Update(t.Context(), read, func(x *session.Session) error { x.Flash = "racing"; return nil })
			if err != nil && !errors.Is(err, session.ErrNotFound) {
				t.Errorf("racing update: %v", err)
			}
		})
	}
	next := fresh()
	if err := s.Rotate(t.Context(), old.ID, next); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := s.Get(t.Context(), old.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("the rotated-away id came back: %v", err)
	}
}

// testExpired: a store never presents a session past its Expires as live:
// it either forgets it or returns it with Expires in the past, for the
// caller to delete (and revoke its refresh token).
func testExpired(t *testing.T, s Store) {
	sess := fresh()
	sess.Expires = time.Now().Add(-time.Minute).Truncate(time.Second)
	mustCreate(t, s, sess)
	got, err := s.Get(t.Context(), sess.ID)
	switch {
	case errors.Is(err, session.ErrNotFound):
	case err != nil:
		t.Fatal(err)
	case !got.Expired(time.Now()):
		t.Errorf("an expired session came back live: expires %v", got.Expires)
	}
}

func testCancelled(t *testing.T, s Store) {
	sess := mustCreate(t, s, fresh())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Get(ctx, sess.ID); err == nil {
		t.Error("Get with a cancelled context succeeded")
	}
	if err := s.Create(ctx, fresh()); err == nil {
		t.Error("Create with a cancelled context succeeded")
	}
	if err := s.Delete(ctx, sess.ID); err == nil {
		t.Error("Delete with a cancelled context succeeded")
	}
	mustGet(t, s, sess.ID)
}
