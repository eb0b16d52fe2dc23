package users

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// With every hashing slot taken, each path that hashes answers ErrBusy and
// changes nothing; an unknown name answers ErrBusy too, as a known one does,
// so the answer under load says nothing about which names have accounts.
func TestBusyWhenNoHashSlot(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	known, err := s.SignUp(ctx, "ana@example.com", "Passw0rd!", nil)
	if err != nil {
		t.Fatal(err)
	}
	code, err := s.NewCode(ctx, known.Sub, PurposeReset)
	if err != nil {
		t.Fatal(err)
	}
	restore := SetHashLimit(0, 0)
	defer restore()
	for name, err := range map[string]error{
		"sign in, known name":   second(s.Authenticate(ctx, "ana@example.com", "Passw0rd!")),
		"sign in, unknown name": second(s.Authenticate(ctx, "nobody@example.com", "Passw0rd!")),
		"sign up":               second(s.SignUp(ctx, "bob@example.com", "Passw0rd!", nil)),
		"reset":                 s.ResetPassword(ctx, known.Sub, code, "N3w-password"),
	} {
		if !errors.Is(err, ErrBusy) {
			t.Errorf("%s: %v, want ErrBusy", name, err)
		}
	}
	restore()
	if _, err := s.ByEmail(ctx, "bob@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a busy sign-up stored an account: %v", err)
	}
	// The reset code was not spent by the busy attempt.
	if err := s.ResetPassword(ctx, known.Sub, code, "N3w-password"); err != nil {
		t.Errorf("reset after busy: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// No more than the limit hash at once; the rest wait their turn, and give
// up with ErrBusy when it does not come in time.
func TestHashLimitBoundsConcurrency(t *testing.T) {
	defer SetHashLimit(2, time.Hour)()
	var held []func()
	for range 2 {
		release, err := acquireHash()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	got := make(chan error)
	go func() {
		release, err := acquireHash()
		if err == nil {
			release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a third hash ran while two held the slots (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	held[0]()
	if err := <-got; err != nil {
		t.Fatalf("waiting hash: %v", err)
	}
	held[1]()

	defer SetHashLimit(1, time.Millisecond)()
	release, err := acquireHash()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := acquireHash(); !errors.Is(err, ErrBusy) {
		t.Errorf("no slot within the wait: %v, want ErrBusy", err)
	}
}

// Many concurrent sign-ins all end, each either checked or busy.
func TestConcurrentSignInsEndCheckedOrBusy(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	defer SetHashLimit(1, 0)()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, err := s.Authenticate(ctx, "nobody@example.com", "Passw0rd!")
			if !errors.Is(err, ErrBadCredentials) && !errors.Is(err, ErrBusy) {
				t.Errorf("Authenticate: %v", err)
			}
		})
	}
	wg.Wait()
}
