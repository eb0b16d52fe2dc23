package idp

import (
	"strings"
	"sync"
	"time"
)

// Lockout policy: after LockoutThreshold failed sign-ins in a row a name is
// locked for LockoutBase, and each further failure doubles the time, up to
// LockoutMax (Cognito locks after five failures too, for a doubling time).
// A client address is locked the same way after ClientLockoutThreshold
// failures over any names, so that one client cannot try a few passwords
// on each of many names.
const (
	LockoutThreshold       = 5
	ClientLockoutThreshold = 50
	LockoutBase            = time.Minute
	LockoutMax             = 15 * time.Minute
	// lockoutForget is how long after its last failure a count is
	// forgotten.
	lockoutForget = time.Hour
	// lockoutCap bounds each table's entries (names, client addresses).
	lockoutCap = 10000
	// maxNameKey bounds a stored name: an email address is at most 254
	// bytes, so a longer name has no account and need not be told apart
	// from others of its kind.
	maxNameKey = 254
)

// lockout counts failed sign-ins (and reset codes) per sign-in name and per
// client address. It counts names whether or not an account has them, so
// being locked out says nothing about whether an account exists.
//
// Neither table can be flushed: an entry with a failure within
// lockoutForget, or a lock, is never forgotten to make room. When a table
// is full (lockoutCap entries) and none can go, new keys are counted
// together in one overflow entry, which locks like a key of its own: a
// flood of new names then has LockoutThreshold tries between all of them
// per lock, and the names already tracked keep their counts. The price is
// paid by people whose name is not tracked while the flood lasts: they
// share the overflow's lock (see "Limits" in the package doc). A success
// does not clear the overflow (it is everyone's), and a name is not known
// to be in it, so succeed and undo take nothing back from it.
//
// A client address is counted at each of its levels (clientLevels: an IPv6
// /64 at its /56 and /48 too), each locked at ClientLockoutThreshold times
// its scale.
type lockout struct {
	now     func() time.Time
	mu      sync.Mutex
	names   failTable
	clients failTable
}

type attempts struct {
	failures int
	last     time.Time
	until    time.Time
}

type failTable struct {
	threshold int
	// levels splits a key into the keys it is counted under, each locked
	// at threshold times its scale (clientLevels for client addresses);
	// nil counts a key only as itself.
	levels func(string) []clientLevel
	m      map[string]*attempts
	// overflow counts the keys that came while the table was full and
	// nothing in it could be forgotten.
	overflow attempts
	// swept is when makeRoom last walked the table: it walks at most once
	// a second, so that a crowd of new keys cannot make every request pay
	// for a walk.
	swept time.Time
}

func newLockout(now func() time.Time) *lockout {
	return &lockout{
		now:     now,
		names:   failTable{threshold: LockoutThreshold, m: map[string]*attempts{}},
		clients: failTable{threshold: ClientLockoutThreshold, levels: clientLevels, m: map[string]*attempts{}},
	}
}

// nameKey is the form a name is stored under: trimmed, lower-cased and at
// most maxNameKey bytes, copied so that it does not hold on to the form it
// came from.
func nameKey(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if len(name) > maxNameKey {
		name = name[:maxNameKey]
	}
	return strings.Clone(name)
}

// locked reports whether name may not try a password now, and until when.
func (l *lockout) locked(name string) (bool, time.Time) {
	return l.lockedFrom(name, "")
}

// lockedFrom reports whether name, or the client address, may not try a
// password now, and until when.
func (l *lockout) lockedFrom(name, client string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if until, ok := l.names.lockedAt(nameKey(name), now); ok {
		return true, until
	}
	if client != "" {
		if until, ok := l.clients.lockedAt(client, now); ok {
			return true, until
		}
	}
	return false, time.Time{}
}

// lockedAt reports whether key, at any of its levels, is locked, and until
// when.
func (t *failTable) lockedAt(key string, now time.Time) (time.Time, bool) {
	for _, lv := range t.levelsOf(key) {
		if a := t.find(lv.key); a != nil && now.Before(a.until) {
			return a.until, true
		}
	}
	return time.Time{}, false
}

// levelsOf returns the keys key is counted under.
func (t *failTable) levelsOf(key string) []clientLevel {
	if t.levels == nil {
		return []clientLevel{{key, 1}}
	}
	return t.levels(key)
}

// find returns the count that applies to key: its own, or the overflow's
// when key is not tracked and the table is full; nil when there is none.
func (t *failTable) find(key string) *attempts {
	if a := t.m[key]; a != nil {
		return a
	}
	if len(t.m) >= lockoutCap {
		return &t.overflow
	}
	return nil
}

// forgotten reports whether a may go: quiet for lockoutForget (and so no
// longer locked), or without failures and not locked.
func forgotten(a *attempts, now time.Time) bool {
	if now.Before(a.until) {
		return false
	}
	return a.failures == 0 || now.Sub(a.last) > lockoutForget
}

// begin is beginFrom without a client address.
func (l *lockout) begin(name string) (bool, time.Time) { return l.beginFrom(name, "") }

// beginFrom checks and reserves an attempt for name from the client
// address in one step: it reports false, and until when, while the name or
// the client is locked; otherwise it counts the attempt as a failure of
// both straight away, which succeedFrom (or undo) takes back. Counting
// before the password is checked means parallel guesses cannot slip in
// between a check and a count: the attempt that reaches the threshold
// locks for everyone after it, whether or not it turns out right.
func (l *lockout) beginFrom(name, client string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	name = nameKey(name)
	if until, ok := l.names.lockedAt(name, now); ok {
		return false, until
	}
	if client != "" {
		if until, ok := l.clients.lockedAt(client, now); ok {
			return false, until
		}
	}
	// The checks above saw what entry returns, or an entry it replaces
	// with a new one (unlocked, as a forgotten entry is).
	if client != "" {
		l.clients.failAll(client, now)
	}
	l.names.failAll(name, now)
	return true, time.Time{}
}

// failAll counts a failure of key at each of its levels, the overflow once
// at most.
func (t *failTable) failAll(key string, now time.Time) {
	overflowed := false
	for _, lv := range t.levelsOf(key) {
		a := t.entry(lv.key, now)
		threshold := t.threshold * lv.scale
		if a == &t.overflow {
			if overflowed {
				continue
			}
			overflowed, threshold = true, t.threshold
		}
		countFailure(a, threshold, now)
	}
}

// entry returns the count to add key's failure to: its own, a new one
// when there is none or it is forgotten, or, when the table is full and
// nothing in it can be forgotten, the overflow.
func (t *failTable) entry(key string, now time.Time) *attempts {
	a := t.m[key]
	if a != nil && !forgotten(a, now) {
		return a
	}
	if a == nil && len(t.m) >= lockoutCap && !t.makeRoom(now) {
		if forgotten(&t.overflow, now) {
			t.overflow = attempts{}
		}
		return &t.overflow
	}
	a = &attempts{}
	t.m[key] = a
	return a
}

func countFailure(a *attempts, threshold int, now time.Time) {
	a.failures++
	a.last = now
	if a.failures >= threshold {
		d := LockoutBase << min(a.failures-threshold, 10)
		a.until = now.Add(min(d, LockoutMax))
	}
}

// takeBack undoes one counted failure of key, at each of its levels.
func (t *failTable) takeBack(key string) {
	for _, lv := range t.levelsOf(key) {
		a := t.m[lv.key]
		if a == nil {
			continue
		}
		if a.failures > 0 {
			a.failures--
		}
		if a.failures == 0 && a.until.IsZero() {
			delete(t.m, lv.key)
		}
	}
}

// makeRoom forgets every entry that may go (see forgotten) and reports
// whether that made room. An entry with a recent failure or a lock is never
// forgotten, whatever the pressure: choosing among those (fewest failures
// first, say) would let a flood of names given as many failures as a
// victim's push the victim's count out.
func (t *failTable) makeRoom(now time.Time) bool {
	if now.Sub(t.swept) < time.Second {
		return false
	}
	t.swept = now
	for k, a := range t.m {
		if forgotten(a, now) {
			delete(t.m, k)
		}
	}
	return len(t.m) < lockoutCap
}

// succeed clears name's failures.
func (l *lockout) succeed(name string) { l.succeedFrom(name, "") }

// succeedFrom clears name's failures and takes back the one beginFrom
// counted for the client. The client's other failures stay: a client that
// knows one password must not be able to wipe its record of guessing
// others.
func (l *lockout) succeedFrom(name, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.names.m, nameKey(name))
	if client != "" {
		l.clients.takeBack(client)
	}
}

// undo takes back the failure beginFrom counted for an attempt that was
// never checked (the server was too busy to hash the password).
func (l *lockout) undo(name, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names.takeBack(nameKey(name))
	if client != "" {
		l.clients.takeBack(client)
	}
}
