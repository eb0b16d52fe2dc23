package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Cost is the argon2id work factor for new password hashes. Stored hashes
// carry their own parameters, so changing the cost never locks anyone out.
type Cost struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultCost follows OWASP's argon2id recommendation (19 MiB, 2 passes, 1
// lane): around 20-40 ms a hash on a laptop core.
var DefaultCost = Cost{Time: 2, Memory: 19 * 1024, Threads: 1}

// TestCost is a deliberately cheap cost for tests. Never use it elsewhere.
var TestCost = Cost{Time: 1, Memory: 64, Threads: 1}

const (
	saltLen = 16
	hashLen = 32
)

// ErrBusy means that more password hashes were asked for at once than the
// process computes at a time, and this one waited its turn in vain: the
// password was not checked (nor anything stored), and the request may be
// tried again in a moment. The Hosted UI answers it with 503 and
// Retry-After, Cognito's API with TooManyRequestsException.
var ErrBusy = errors.New("too many password checks at once, try again shortly")

// HashRetryAfter is the wait to suggest (Retry-After) with ErrBusy.
const HashRetryAfter = time.Second

// hashGate bounds the argon2id hashes computed at once. Each holds
// Cost.Memory (19 MiB at DefaultCost) until it ends, and a sign-in form
// asks for one from anyone, with or without an account: without a bound,
// 40 concurrent anonymous sign-ins took a process from 43 to 313 MB. It is
// process-wide, like the memory and cores it shares out: two stores in one
// process (tests, `portal dev`) still hash no more than the machine holds.
type hashGate struct {
	slots chan struct{}
	wait  time.Duration
}

var (
	gateMu sync.Mutex
	gate   = newHashGate(runtime.GOMAXPROCS(0), 500*time.Millisecond)
)

func newHashGate(n int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, max(n, 0)), wait: wait}
}

// SetHashLimit makes at most n password hashes run at once in this process
// (the default is one per core, GOMAXPROCS), each waiting at most wait for
// its turn before failing with ErrBusy; n = 0 refuses every hash (for
// tests of the busy answer). It returns a function that restores the
// previous limit. Hashes already running or waiting keep the old limit.
func SetHashLimit(n int, wait time.Duration) (restore func()) {
	gateMu.Lock()
	defer gateMu.Unlock()
	old := gate
	gate = newHashGate(n, wait)
	return func() {
		gateMu.Lock()
		defer gateMu.Unlock()
		gate = old
	}
}

// acquireHash waits for a hashing slot and returns the function that frees
// it, or ErrBusy.
func acquireHash() (func(), error) {
	gateMu.Lock()
	g := gate
	gateMu.Unlock()
	release := func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release, nil
	default:
	}
	if cap(g.slots) == 0 || g.wait <= 0 {
		return nil, ErrBusy
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, ErrBusy
	}
}

// TakeHashTurn waits for a hashing slot as a hash would, and frees it at
// once. A path that skips a hash (a reset for an address with no account)
// calls it so as to answer ErrBusy exactly when the hash would have: under
// load, a busy answer for one address and another answer for the next would
// tell which of them have accounts.
func TakeHashTurn() error {
	release, err := acquireHash()
	if err != nil {
		return err
	}
	release()
	return nil
}

// idKey is argon2.IDKey within the process's bound on hashes at once.
func idKey(password, salt []byte, passes, memory uint32, threads uint8, keyLen uint32) ([]byte, error) {
	release, err := acquireHash()
	if err != nil {
		return nil, err
	}
	defer release()
	return argon2.IDKey(password, salt, passes, memory, threads, keyLen), nil
}

// hash returns the PHC string form of password's argon2id hash:
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<hash>, or ErrBusy.
func (c Cost) hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	sum, err := idKey([]byte(password), salt, c.Time, c.Memory, c.Threads, hashLen)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, c.Memory, c.Time, c.Threads, enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

var errBadHash = errors.New("malformed password hash")

// verify reports whether password matches the PHC-encoded hash, in time
// independent of where the two differ. It fails with ErrBusy when no
// hashing slot came free in time.
func verify(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var c Cost
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &c.Memory, &c.Time, &c.Threads); err != nil {
		return false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	got, err := idKey([]byte(password), salt, c.Time, c.Memory, c.Threads, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Policy messages, in the words Cognito's Hosted UI uses; they are shown
// to people, hence the capitals.
const (
	PasswordShort   = "Password must have at least 8 characters"
	PasswordLong    = "Password must have at most 256 characters"
	PasswordUpper   = "Password must contain an uppercase letter"
	PasswordLower   = "Password must contain a lowercase letter"
	PasswordDigit   = "Password must contain a number"
	PasswordSymbol  = "Password must contain a special character"
	PasswordSpacing = "Password must not begin or end with a space"
)

// cognitoSymbols are the special characters Cognito's password policy counts.
const cognitoSymbols = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "

// CheckPassword applies Cognito's default password policy: 8 to 256
// characters with an upper-case letter (A-Z), a lower-case letter (a-z), a
// digit (0-9) and one of Cognito's symbols (cognitoSymbols); no leading or
// trailing space. Other characters are allowed and count toward the length
// only. It returns the message of every rule
// broken, none when the password is acceptable.
func CheckPassword(p string) []string {
	var errs []string
	n := len([]rune(p))
	if n < 8 {
		errs = append(errs, PasswordShort)
	}
	if n > 256 {
		errs = append(errs, PasswordLong)
	}
	var upper, lower, digit, symbol bool
	for _, r := range p {
		switch {
		// Basic Latin only, as Cognito counts: "Ä" or "Ж" is a character
		// toward the length but neither an upper- nor a lower-case letter.
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(cognitoSymbols, r):
			symbol = true
		}
	}
	if !upper {
		errs = append(errs, PasswordUpper)
	}
	if !lower {
		errs = append(errs, PasswordLower)
	}
	if !digit {
		errs = append(errs, PasswordDigit)
	}
	if !symbol {
		errs = append(errs, PasswordSymbol)
	}
	if p != strings.TrimSpace(p) {
		errs = append(errs, PasswordSpacing)
	}
	return errs
}
