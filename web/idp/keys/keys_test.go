package keys

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func kids(t *testing.T, s *Set) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid, Alg, Kty, Use, N, E string
		} `json:"keys"`
	}
	if err := json.Unmarshal(s.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, k := range set.Keys {
		if k.Alg != "RS256" || k.Kty != "RSA" || k.Use != "sig" || k.N == "" || k.E != "AQAB" {
			t.Errorf("key %+v: not an RS256 signing key", k)
		}
		ks = append(ks, k.Kid)
	}
	return ks
}

func TestOpenGeneratesPersistsAndRotates(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "idp", "keys.json")
	s, err := Open(path, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	id, access := s.Active(UseID), s.Active(UseAccess)
	if id.KeyID == access.KeyID {
		t.Fatal("ID and access tokens share a key")
	}
	if id.Key.N.BitLen() < 2048 {
		t.Errorf("key size %d bits", id.Key.N.BitLen())
	}
	if got := kids(t, s); len(got) != 2 {
		t.Fatalf("JWKS has %d keys, want 2", len(got))
	}

	again, err := Open(path, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if again.Active(UseID).KeyID != id.KeyID || again.Active(UseAccess).KeyID != access.KeyID {
		t.Fatal("reopening generated new keys instead of loading the saved ones")
	}

	if err := again.Rotate(); err != nil {
		t.Fatal(err)
	}
	if again.Active(UseID).KeyID == id.KeyID {
		t.Fatal("rotation kept the old ID key active")
	}
	if got := kids(t, again); len(got) != 4 {
		t.Fatalf("after rotation JWKS has %d keys, want 4 (old ones kept)", len(got))
	}
	if _, u, ok := again.PublicKey(id.KeyID); !ok || u != UseID {
		t.Fatalf("retired ID key not found (ok=%v use=%q)", ok, u)
	}

	clock.t = clock.t.Add(RetainAfterRotation + time.Minute)
	later, err := Open(path, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if got := kids(t, later); len(got) != 2 {
		t.Fatalf("a day after rotation JWKS has %d keys, want 2", len(got))
	}
	if _, _, ok := later.PublicKey(id.KeyID); ok {
		t.Fatal("retired key still published after every token it signed expired")
	}
}

func TestOpenRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, []byte(`[{"kid":"x","use":"id","pem":"nope"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, nil); err == nil {
		t.Fatal("opened a key file without a key in it")
	}
}

func BenchmarkJWKS(b *testing.B) {
	s, err := Open("", nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = s.JWKS()
	}
}

func BenchmarkSign(b *testing.B) {
	s, err := Open("", nil)
	if err != nil {
		b.Fatal(err)
	}
	sg := s.Active(UseID)
	msg := []byte("header.payload")
	for b.Loop() {
		if _, err := sg.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}
