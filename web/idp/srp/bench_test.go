package srp

import (
	"testing"
	"time"
)

// BenchmarkSignIn is the server's share of one USER_SRP_AUTH sign-in:
// Challenge (InitiateAuth) and Verify (RespondToAuthChallenge); the
// client's computation is left out of the timing. cpu-ms/op is the CPU
// time those two calls used, which load from other processes on the
// machine does not inflate (ns/op is wall-clock time).
func BenchmarkSignIn(b *testing.B) {
	s, clk := newTestServer(b, Options{MaxPending: 1 << 30})
	salt, v, _ := NewVerifier(testPool, testUser, testPass)
	c := newTestClient(b, testPool)
	b.ReportAllocs()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		start := cpuTime()
		ch, err := s.Challenge(testPool, testUser, "", salt, v, c.srpA())
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - start
		b.StopTimer()
		ts, sig := c.sign(b, ch, testPass, clk.now())
		b.StartTimer()
		start = cpuTime()
		if err := s.Verify(testPool, testUser, "", v, ch.SecretBlock, ts, sig); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - start
	}
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkChallengeUnknownUser is InitiateAuth for a user that does not
// exist: it should cost what Challenge for a real one costs.
func BenchmarkChallengeUnknownUser(b *testing.B) {
	s, _ := newTestServer(b, Options{})
	c := newTestClient(b, testPool)
	for i := 0; i < b.N; i++ {
		salt, v := s.FakeVerifier(testPool, "nobody")
		if _, err := s.Challenge(testPool, "nobody", "", salt, v, c.srpA()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChallengeKnownUser is the same for an account.
func BenchmarkChallengeKnownUser(b *testing.B) {
	s, _ := newTestServer(b, Options{})
	salt, v, _ := NewVerifier(testPool, testUser, testPass)
	c := newTestClient(b, testPool)
	for i := 0; i < b.N; i++ {
		if _, err := s.Challenge(testPool, testUser, "", salt, v, c.srpA()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewVerifier is the cost added to setting a password.
func BenchmarkNewVerifier(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, _, err := NewVerifier(testPool, testUser, testPass); err != nil {
			b.Fatal(err)
		}
	}
}
