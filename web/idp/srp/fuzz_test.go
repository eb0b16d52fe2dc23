package srp

import (
	"errors"
	"math/big"
	"strings"
	"testing"
)

// FuzzChallenge feeds SRP_A as a client could send it: Challenge never
// panics, refuses with ErrMalformed what is not a usable A, and answers
// anything else with parameters a client can read.
func FuzzChallenge(f *testing.F) {
	s, _ := newTestServer(f, Options{})
	salt, v, _ := NewVerifier(testPool, testUser, testPass)
	for _, seed := range []string{
		"", "0", "1", "00", "abc", "ABCDEF", "-1", "0x10", " 1", "1\\n", "zz",
		groupN.Text(16), strings.Repeat("f", 768), strings.Repeat("0", 1024), strings.Repeat("1", 1025),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, srpA string) {
		ch, err := s.Challenge(testPool, testUser, "", salt, v, srpA)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Challenge(%q) = %v, want ErrMalformed", srpA, err)
			}
			return
		}
		a, ok := new(big.Int).SetString(srpA, 16)
		if !ok || a.Sign() < 0 || strings.HasPrefix(srpA, "+") || new(big.Int).Mod(a, groupN).Sign() == 0 {
			t.Fatalf("Challenge accepted SRP_A %q", srpA)
		}
		if _, ok := new(big.Int).SetString(ch.SRPB, 16); !ok || ch.SecretBlock == "" {
			t.Fatalf("unreadable challenge %+v", ch)
		}
	})
}

// FuzzVerify feeds PASSWORD_CLAIM_SECRET_BLOCK, TIMESTAMP and
// PASSWORD_CLAIM_SIGNATURE: Verify never panics, never accepts what was
// not signed with the password, and fails with one of its errors.
func FuzzVerify(f *testing.F) {
	s, clk := newTestServer(f, Options{})
	salt, v, _ := NewVerifier(testPool, testUser, testPass)
	c := newTestClient(f, testPool)
	ch, err := s.Challenge(testPool, testUser, "", salt, v, c.srpA())
	if err != nil {
		f.Fatal(err)
	}
	ts, sig := c.sign(f, ch, testPass, clk.now())
	f.Add(ch.SecretBlock, ts, "AAAA")
	f.Add(ch.SecretBlock, "Tue Mar 03 09:05:07 UTC 2026", sig)
	f.Add(ch.SecretBlock[:40], ts, sig)
	f.Add("", "", "")
	f.Add("====", "Mon Jan 2 15:04:05 UTC 2006", "====")
	f.Add(ch.SecretBlock+"A", ts, sig)
	known := []error{ErrMalformed, ErrTimestamp, ErrSecretBlock, ErrExpired, ErrReplayed, ErrBadSignature, ErrBusy}
	f.Fuzz(func(t *testing.T, block, timestamp, signature string) {
		err := s.Verify(testPool, testUser, "", v, block, timestamp, signature)
		if err == nil {
			if block != ch.SecretBlock {
				t.Fatalf("Verify accepted a secret block it did not issue: %q", block)
			}
			return // the real answer (first use) or one the signature truly covers
		}
		for _, k := range known {
			if errors.Is(err, k) {
				return
			}
		}
		t.Fatalf("Verify = %v, not one of the package's errors", err)
	})
}
