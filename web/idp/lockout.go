package idp

import (
	"sync"
	"time"
)

// Lockout policy: after LockoutThreshold failed sign-ins in a row a name is
// locked for LockoutBase, and each further failure doubles the time, up to
// LockoutMax (Cognito locks after five failures too, for a doubling time).
const (
	LockoutThreshold = 5
	LockoutBase      = time.Minute
	LockoutMax       = 15 * time.Minute
	// lockoutForget is how long after its last failure a name's count is
	// forgotten.
	lockoutForget = time.Hour
	// lockoutCap bounds memory: past it, forgotten names are dropped first.
	lockoutCap = 10000
)

// lockout counts failed sign-ins per sign-in name. It counts names whether
// or not an account has them, so being locked out says nothing about
// whether an account exists.
type lockout struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*attempts
}

type attempts struct {
	failures int
	last     time.Time
	until    time.Time
}

func newLockout(now func() time.Time) *lockout {
	return &lockout{now: now, m: map[string]*attempts{}}
}

// locked reports whether name may not try a password now, and until when.
func (l *lockout) locked(name string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.m[name]
	if a == nil || !l.now().Before(a.until) {
		return false, time.Time{}
	}
	return true, a.until
}

// begin checks and reserves an attempt for name in one step: it reports
// false, and until when, while name is locked; otherwise it counts the
// attempt as a failure straight away, which succeed undoes. Counting before
// the password is checked means parallel guesses cannot slip in between a
// check and a count: the attempt that reaches LockoutThreshold locks the
// name for everyone after it, whether or not it turns out right.
func (l *lockout) begin(name string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	a := l.m[name]
	if a != nil && now.Before(a.until) {
		return false, a.until
	}
	if a == nil || now.Sub(a.last) > lockoutForget {
		if len(l.m) >= lockoutCap {
			l.forgetLocked(now)
		}
		a = &attempts{}
		l.m[name] = a
	}
	a.failures++
	a.last = now
	if a.failures >= LockoutThreshold {
		d := LockoutBase << min(a.failures-LockoutThreshold, 10)
		a.until = now.Add(min(d, LockoutMax))
	}
	return true, time.Time{}
}

// succeed clears name's failures.
func (l *lockout) succeed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, name)
}

func (l *lockout) forgetLocked(now time.Time) {
	for k, a := range l.m {
		if now.Sub(a.last) > lockoutForget && !now.Before(a.until) {
			delete(l.m, k)
		}
	}
	if len(l.m) < lockoutCap {
		return
	}
	// Still full of fresh names: an attack on many names at once. Forget
	// the unlocked ones; locked ones stay locked.
	for k, a := range l.m {
		if !now.Before(a.until) {
			delete(l.m, k)
		}
	}
}
