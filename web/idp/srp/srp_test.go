package srp

import (
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testPool = "AbCdEfGhI"
	testUser = "3c1e9a52-8b5d-4f0e-9c77-1a2b3c4d5e6f"
	testPass = "Correct horse 9!"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestServer(t testing.TB, opts Options) (*Server, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 3, 9, 5, 7, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = c.now
	}
	s, err := NewServer([]byte("0123456789abcdef0123456789abcdef"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestSignIn(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	for _, pass := range []string{testPass, "", "pässwörd ☃ with spaces", strings.Repeat("x", 256)} {
		salt, v, err := NewVerifier(testPool, testUser, pass)
		if err != nil {
			t.Fatal(err)
		}
		if len(salt) != SaltSize || len(v) != VerifierSize {
			t.Fatalf("salt %d bytes, verifier %d bytes", len(salt), len(v))
		}
		c := newTestClient(t, testPool)
		ch, err := s.Challenge(testPool, testUser, "", salt, v, c.srpA())
		if err != nil {
			t.Fatal(err)
		}
		if ch.UserIDForSRP != testUser {
			t.Errorf("USER_ID_FOR_SRP = %q", ch.UserIDForSRP)
		}
		ts, sig := c.sign(t, ch, pass, clk.now())
		if err := s.Verify(testPool, testUser, "", v, ch.SecretBlock, ts, sig); err != nil {
			t.Errorf("password %q: %v", pass, err)
		}
	}
}

// answer is a PASSWORD_VERIFIER answer a test case may alter.
type answer struct {
	pool, user     string
	binding        string
	verifier       []byte
	block, ts, sig string

	client *testClient
	ch     Challenge
	now    time.Time
}

func (a *answer) verify(s *Server) error {
	return s.Verify(a.pool, a.user, a.binding, a.verifier, a.block, a.ts, a.sig)
}

// TestVerifyRefusals is every way a PASSWORD_VERIFIER answer fails, and the
// error each gets.
func TestVerifyRefusals(t *testing.T) {
	salt, v, _ := NewVerifier(testPool, testUser, testPass)
	_, otherV, _ := NewVerifier(testPool, testUser, "another password")

	cases := []struct {
		name   string
		change func(t *testing.T, a *answer, s *Server, clk *clock)
		want   error
	}{
		{"right password", func(*testing.T, *answer, *Server, *clock) {}, nil},
		{"wrong password", func(t *testing.T, a *answer, _ *Server, _ *clock) {
			a.ts, a.sig = a.client.sign(t, a.ch, "wrong password", a.now)
		}, ErrBadSignature},
		{"password of another case", func(t *testing.T, a *answer, _ *Server, _ *clock) {
			a.ts, a.sig = a.client.sign(t, a.ch, strings.ToUpper(testPass), a.now)
		}, ErrBadSignature},
		{"signature of zeros", func(_ *testing.T, a *answer, _ *Server, _ *clock) {
			a.sig = base64.StdEncoding.EncodeToString(make([]byte, 32))
		}, ErrBadSignature},
		{"signature not base64", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.sig = "%%%" }, ErrBadSignature},
		{"empty signature", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.sig = "" }, ErrBadSignature},
		{"verifier of another password", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.verifier = otherV }, ErrBadSignature},
		// As measured on Cognito: the client's signature over these
		// timestamps is refused like a wrong password.
		{"zero-padded day", func(t *testing.T, a *answer, _ *Server, _ *clock) {
			a.ts = strings.Replace(a.ts, " 3 ", " 03 ", 1)
			a.sig = a.client.signAt(t, a.ch, testPass, a.ts)
		}, ErrBadSignature},
		{"wrong weekday", func(t *testing.T, a *answer, _ *Server, _ *clock) {
			a.ts = strings.Replace(a.ts, "Tue", "Wed", 1)
			a.sig = a.client.signAt(t, a.ch, testPass, a.ts)
		}, ErrBadSignature},
		{"time of another day", func(t *testing.T, a *answer, _ *Server, _ *clock) {
			// TIMESTAMP is not held against the server's clock (a
			// client with a skewed clock signs in): the block's expiry is
			// the limit.
			a.ts = "Sun Jan 4 23:59:59 UTC 2026"
			a.sig = a.client.signAt(t, a.ch, testPass, a.ts)
		}, nil},
		{"timestamp signed, another sent", func(t *testing.T, a *answer, _ *Server, _ *clock) {
			a.ts = "Tue Mar 3 09:05:08 UTC 2026"
		}, ErrBadSignature},
		{"timestamp in another format", func(_ *testing.T, a *answer, _ *Server, _ *clock) {
			a.ts = "2026-03-03T09:05:07Z"
		}, ErrTimestamp},
		{"timestamp in another zone", func(_ *testing.T, a *answer, _ *Server, _ *clock) {
			a.ts = strings.Replace(a.ts, "UTC", "IST", 1)
		}, ErrTimestamp},
		{"empty timestamp", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.ts = "" }, ErrTimestamp},
		{"secret block of another user", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.user = "someone-else" }, ErrSecretBlock},
		{"secret block of another pool", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.pool = "ZyXwVuTsR" }, ErrSecretBlock},
		// The binding (for Cognito, the app client and flow) is the
		// caller's: a block issued under one is no good under another.
		{"secret block of another binding", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.binding = "client-b" }, ErrSecretBlock},
		{"secret block answered without its binding", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.binding = "" }, ErrSecretBlock},
		{"secret block altered", func(_ *testing.T, a *answer, _ *Server, _ *clock) {
			raw, _ := base64.StdEncoding.DecodeString(a.block)
			raw[len(raw)/2] ^= 1
			a.block = base64.StdEncoding.EncodeToString(raw)
		}, ErrSecretBlock},
		{"secret block truncated", func(_ *testing.T, a *answer, _ *Server, _ *clock) {
			a.block = base64.StdEncoding.EncodeToString([]byte("short"))
		}, ErrSecretBlock},
		{"empty secret block", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.block = "" }, ErrSecretBlock},
		{"secret block too long", func(_ *testing.T, a *answer, _ *Server, _ *clock) {
			a.block = strings.Repeat("A", 1<<20)
		}, ErrSecretBlock},
		{"secret block not base64", func(_ *testing.T, a *answer, _ *Server, _ *clock) { a.block = "not base64!" }, ErrMalformed},
		{"secret block of another server", func(t *testing.T, a *answer, _ *Server, _ *clock) {
			other, _ := newTestServer(t, Options{})
			ch, err := other.Challenge(testPool, testUser, "client-a", salt, v, a.client.srpA())
			if err != nil {
				t.Fatal(err)
			}
			a.block = ch.SecretBlock
		}, ErrSecretBlock},
		{"answered on the last instant", func(_ *testing.T, _ *answer, _ *Server, clk *clock) {
			clk.add(DefaultTTL - time.Nanosecond)
		}, nil},
		{"expired", func(_ *testing.T, _ *answer, _ *Server, clk *clock) { clk.add(DefaultTTL) }, ErrExpired},
		{"replayed", func(t *testing.T, a *answer, s *Server, _ *clock) {
			if err := a.verify(s); err != nil {
				t.Fatalf("first use: %v", err)
			}
		}, ErrReplayed},
		{"replayed after a wrong password", func(t *testing.T, a *answer, s *Server, _ *clock) {
			good := a.sig
			a.sig = "AAAA"
			if err := a.verify(s); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("first use: %v", err)
			}
			a.sig = good
		}, ErrReplayed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, clk := newTestServer(t, Options{})
			c := newTestClient(t, testPool)
			ch, err := s.Challenge(testPool, testUser, "client-a", salt, v, c.srpA())
			if err != nil {
				t.Fatal(err)
			}
			a := &answer{pool: testPool, user: testUser, binding: "client-a", verifier: v, block: ch.SecretBlock,
				client: c, ch: ch, now: clk.now()}
			a.ts, a.sig = c.sign(t, ch, testPass, a.now)
			tc.change(t, a, s, clk)
			err = a.verify(s)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestChallengeRefusals(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	salt, v, _ := NewVerifier(testPool, testUser, testPass)
	n := groupN.Text(16)
	for _, tc := range []struct {
		name, a string
		want    error
	}{
		{"empty", "", ErrMalformed},
		{"zero", "0", ErrMalformed},
		{"many zeros", strings.Repeat("0", 770), ErrMalformed},
		{"N", n, ErrMalformed},
		{"2N", new(big.Int).Lsh(groupN, 1).Text(16), ErrMalformed},
		{"N upper case", strings.ToUpper(n), ErrMalformed},
		{"not hex", "xyz", ErrMalformed},
		{"signed", "-1", ErrMalformed},
		{"prefixed", "0x1234", ErrMalformed},
		{"space", "12 34", ErrMalformed},
		{"too long", strings.Repeat("1", maxAHex+1), ErrMalformed},
		{"one", "1", nil},
		{"odd length", "abc", nil},
		{"upper case", "ABCDEF", nil},
		{"N+1", new(big.Int).Add(groupN, big.NewInt(1)).Text(16), nil},
		{"padded", "00" + newTestClient(t, testPool).srpA(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Challenge(testPool, testUser, "", salt, v, tc.a)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Challenge(%.20q) = %v, want %v", tc.a, err, tc.want)
			}
		})
	}
	// What the store gives is checked too, with errors that are not the
	// client's.
	c := newTestClient(t, testPool)
	for name, bad := range map[string][]byte{
		"short verifier": v[1:],
		"zero verifier":  make([]byte, VerifierSize),
		"verifier >= N":  padTo(groupN.Bytes(), VerifierSize),
	} {
		if _, err := s.Challenge(testPool, testUser, "", salt, bad, c.srpA()); err == nil || errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Challenge = %v, want a store error", name, err)
		}
	}
	if _, err := s.Challenge(testPool, testUser, "", nil, v, c.srpA()); err == nil {
		t.Error("empty salt: Challenge succeeded")
	}
}

func TestNewServerKey(t *testing.T) {
	if _, err := NewServer(make([]byte, 15), Options{}); err == nil {
		t.Error("a 15-byte key was accepted")
	}
}

// TestFakeVerifier: an unknown user gets a stable, real-looking challenge
// that no password answers.
func TestFakeVerifier(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	salt1, v1 := s.FakeVerifier(testPool, "nobody")
	salt2, v2 := s.FakeVerifier(testPool, "nobody")
	if string(salt1) != string(salt2) || string(v1) != string(v2) {
		t.Fatal("fake verifier changes between calls")
	}
	same, _ := NewServer([]byte("0123456789abcdef0123456789abcdef"), Options{})
	if salt3, _ := same.FakeVerifier(testPool, "nobody"); string(salt3) != string(salt1) {
		t.Error("fake salt changes with a restart (same key)")
	}
	other, _ := NewServer([]byte("another key, another provider!!"), Options{})
	if salt4, _ := other.FakeVerifier(testPool, "nobody"); string(salt4) == string(salt1) {
		t.Error("fake salt does not depend on the key")
	}
	if salt5, _ := s.FakeVerifier(testPool, "nobody2"); string(salt5) == string(salt1) {
		t.Error("two unknown users share a salt")
	}
	realSalt, realV, _ := NewVerifier(testPool, testUser, testPass)
	if len(salt1) != len(realSalt) || len(v1) != len(realV) {
		t.Errorf("fake sizes %d/%d, real %d/%d", len(salt1), len(v1), len(realSalt), len(realV))
	}
	c := newTestClient(t, testPool)
	ch, err := s.Challenge(testPool, "nobody", "", salt1, v1, c.srpA())
	if err != nil {
		t.Fatal(err)
	}
	realCh, _ := s.Challenge(testPool, testUser, "", realSalt, realV, c.srpA())
	if len(ch.Salt) != len(realCh.Salt) || len(ch.SecretBlock) != len(realCh.SecretBlock) {
		t.Errorf("fake challenge %+v looks unlike a real one %+v", ch, realCh)
	}
	for _, pass := range []string{testPass, "", "nobody"} {
		ts, sig := c.sign(t, ch, pass, clk.now())
		if err := s.Verify(testPool, "nobody", "", v1, ch.SecretBlock, ts, sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("password %q for an unknown user: %v, want ErrBadSignature", pass, err)
		}
		ch, _ = s.Challenge(testPool, "nobody", "", salt1, v1, c.srpA())
	}
}

// TestSaltHexIsPadded: the salt's hex is its padded form, so clients that
// hash the hex as given and clients that parse it first agree.
func TestSaltHexIsPadded(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	c := newTestClient(t, testPool)
	for i := 0; i < 50; i++ {
		salt, v, _ := NewVerifier(testPool, testUser, testPass)
		ch, err := s.Challenge(testPool, testUser, "", salt, v, c.srpA())
		if err != nil {
			t.Fatal(err)
		}
		if ch.Salt[0] >= '8' || ch.Salt[:2] == "00" || len(ch.Salt) != 2*SaltSize {
			t.Fatalf("SALT %s is not in padded form", ch.Salt)
		}
		if len(ch.SRPB)%2 != 0 || ch.SRPB[0] >= '8' {
			t.Fatalf("SRP_B %s is not in padded form", ch.SRPB)
		}
	}
}

func TestReplaySetBound(t *testing.T) {
	s, clk := newTestServer(t, Options{MaxPending: 2})
	salt, v, _ := NewVerifier(testPool, testUser, testPass)
	try := func() error {
		c := newTestClient(t, testPool)
		ch, err := s.Challenge(testPool, testUser, "", salt, v, c.srpA())
		if err != nil {
			t.Fatal(err)
		}
		ts, sig := c.sign(t, ch, testPass, clk.now())
		return s.Verify(testPool, testUser, "", v, ch.SecretBlock, ts, sig)
	}
	for i := 0; i < 2; i++ {
		if err := try(); err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
	}
	if err := try(); !errors.Is(err, ErrBusy) {
		t.Fatalf("third sign-in with two pending: %v, want ErrBusy", err)
	}
	clk.add(DefaultTTL) // the two used blocks expire and are forgotten
	if err := try(); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestConcurrentReplay(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	salt, v, _ := NewVerifier(testPool, testUser, testPass)
	c := newTestClient(t, testPool)
	ch, _ := s.Challenge(testPool, testUser, "", salt, v, c.srpA())
	ts, sig := c.sign(t, ch, testPass, clk.now())
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Go(func() {
			if s.Verify(testPool, testUser, "", v, ch.SecretBlock, ts, sig) == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d of 8 concurrent uses of one secret block succeeded, want 1", ok)
	}
}
