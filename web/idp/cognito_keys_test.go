package idp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/idp/users"
)

// TestCredentials: without a configured secret, one is generated at the
// first start, kept 0600 and the same at the next; a configured one wins;
// a secret file others can read is refused.
func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	seedKeys(t, dir)
	start := func(cfg Config) (*Server, error) {
		cfg.URL, cfg.DataDir, cfg.PasswordCost = "http://localhost:9229", dir, users.TestCost
		cfg.Clients = []Client{DevClient("http://localhost:8080", "")}
		s, err := New(cfg)
		if err == nil {
			s.Close()
		}
		return s, err
	}
	s, err := start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	id, secret := s.Credentials()
	if id != DefaultAccessKeyID || len(secret) != 40 || s.Endpoint() != "http://localhost:9229" {
		t.Fatalf("Credentials() = %q, %q; Endpoint %q", id, secret, s.Endpoint())
	}
	path := filepath.Join(dir, "idp", "secret-access-key")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	if s, _ = start(Config{}); func() string { _, v := s.Credentials(); return v }() != secret {
		t.Fatal("the generated secret changed at the second start")
	}
	s, err = start(Config{AccessKeyID: "AKIDME", SecretAccessKey: "configured"})
	if id, v := s.Credentials(); err != nil || id != "AKIDME" || v != "configured" {
		t.Fatalf("configured: %q %q %v", id, v, err)
	}
	os.Chmod(path, 0o644)
	if _, err := start(Config{}); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("a world-readable secret file: %v", err)
	}
}
