package idp

import (
	"testing"
	"time"
)

func TestLockoutGrows(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLockout(c.Now)
	for i := 1; i < LockoutThreshold; i++ {
		if locked, _ := l.fail("a"); locked {
			t.Fatalf("locked after %d failures", i)
		}
	}
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, LockoutMax, LockoutMax} {
		locked, until := l.fail("a")
		if !locked || until.Sub(c.Now()) != want {
			t.Fatalf("locked=%v for %v, want %v", locked, until.Sub(c.Now()), want)
		}
		if locked, _ := l.locked("b"); locked {
			t.Fatal("another name is locked too")
		}
		c.Advance(want)
		if locked, _ := l.locked("a"); locked {
			t.Fatalf("still locked after %v", want)
		}
	}
	l.succeed("a")
	if locked, _ := l.fail("a"); locked {
		t.Fatal("a success did not reset the count")
	}
}
