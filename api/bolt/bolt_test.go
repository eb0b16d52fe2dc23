package bolt_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/bolt"
	"github.com/usersvc/usersvc/api/storetest"
)

func open(t *testing.T, path string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRestart checks that what a create committed survives closing and
// reopening the file, numbers digit for digit.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "users.db")
	item := api.Item{"UserId": "u1", "n": json.Number("12345678901234567890.123"), "m": map[string]any{"l": []any{true, nil}}}

	s := open(t, path)
	if err := s.CreateUser(ctx, item); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	defer s.Close()
	got, err := s.GetUser(ctx, "u1")
	if err != nil || !reflect.DeepEqual(got, item) {
		t.Fatalf("after restart: %#v, %v; want %#v", got, err, item)
	}
	if err := s.CreateUser(ctx, item); !errors.Is(err, api.ErrExists) {
		t.Fatalf("create after restart: %v, want ErrExists", err)
	}
}

// TestLocked checks that a second opener gets an error instead of hanging
// while another holds the file.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	s := open(t, path)
	defer s.Close()
	if s2, err := bolt.Open(path); err == nil {
		s2.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) api.Store {
		s := open(t, filepath.Join(t.TempDir(), "users.db"))
		t.Cleanup(func() { s.Close() })
		return s
	})
}
