package idp

import (
	"cmp"
	"slices"
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
// Neither table can be flushed: under pressure (lockoutCap entries), the
// entries forgotten first are those quiet for lockoutForget, then those
// with the fewest failures, the quietest first; a locked entry is never
// forgotten before its lock ends. A name with four recent failures
// therefore outlives any number of names tried once. When every entry is
// locked, a new key is refused (the attempt is answered as locked) rather
// than let through uncounted.
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
	m         map[string]*attempts
	// full is when makeRoom last found every entry locked: until a second
	// later it does not walk the table again, so that a crowd of new keys
	// cannot make every request pay for a walk.
	full time.Time
}

func newLockout(now func() time.Time) *lockout {
	return &lockout{
		now:     now,
		names:   failTable{threshold: LockoutThreshold, m: map[string]*attempts{}},
		clients: failTable{threshold: ClientLockoutThreshold, m: map[string]*attempts{}},
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

func (t *failTable) lockedAt(key string, now time.Time) (time.Time, bool) {
	a := t.m[key]
	if a == nil || !now.Before(a.until) {
		return time.Time{}, false
	}
	return a.until, true
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
	na, ok := l.names.entry(name, now)
	if !ok {
		return false, now.Add(LockoutBase)
	}
	var ca *attempts
	if client != "" {
		if ca, ok = l.clients.entry(client, now); !ok {
			l.names.drop(name, na)
			return false, now.Add(LockoutBase)
		}
		l.clients.fail(ca, now)
	}
	l.names.fail(na, now)
	return true, time.Time{}
}

// entry returns key's count, starting a new one (after making room) when
// there is none or it is forgotten; false when there is no room.
func (t *failTable) entry(key string, now time.Time) (*attempts, bool) {
	a := t.m[key]
	if a != nil && now.Sub(a.last) <= lockoutForget {
		return a, true
	}
	if a == nil && len(t.m) >= lockoutCap && !t.makeRoom(now) {
		return nil, false
	}
	a = &attempts{}
	t.m[key] = a
	return a, true
}

func (t *failTable) fail(a *attempts, now time.Time) {
	a.failures++
	a.last = now
	if a.failures >= t.threshold {
		d := LockoutBase << min(a.failures-t.threshold, 10)
		a.until = now.Add(min(d, LockoutMax))
	}
}

// drop removes an entry just made that turned out not to be needed.
func (t *failTable) drop(key string, a *attempts) {
	if a.failures == 0 {
		delete(t.m, key)
	}
}

// takeBack undoes one counted failure of key.
func (t *failTable) takeBack(key string) {
	a := t.m[key]
	if a == nil {
		return
	}
	if a.failures > 0 {
		a.failures--
	}
	if a.failures == 0 && a.until.IsZero() {
		delete(t.m, key)
	}
}

// makeRoom frees at least one entry, a tenth of the table when it has to
// choose (so the choice, a sort, is made once per many new keys). It
// reports false when every entry is locked.
func (t *failTable) makeRoom(now time.Time) bool {
	if now.Sub(t.full) < time.Second {
		return false
	}
	for k, a := range t.m {
		if now.Sub(a.last) > lockoutForget && !now.Before(a.until) {
			delete(t.m, k)
		}
	}
	if len(t.m) < lockoutCap {
		return true
	}
	type cand struct {
		key string
		a   *attempts
	}
	var cs []cand
	for k, a := range t.m {
		if !now.Before(a.until) {
			cs = append(cs, cand{k, a})
		}
	}
	if len(cs) == 0 {
		t.full = now
		return false
	}
	slices.SortFunc(cs, func(x, y cand) int {
		return cmp.Or(cmp.Compare(x.a.failures, y.a.failures), x.a.last.Compare(y.a.last))
	})
	for _, c := range cs[:max(1, min(len(cs), lockoutCap/10))] {
		delete(t.m, c.key)
	}
	return true
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
