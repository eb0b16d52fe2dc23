package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

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

// hash returns the PHC string form of password's argon2id hash:
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<hash>.
func (c Cost) hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, c.Time, c.Memory, c.Threads, hashLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, c.Memory, c.Time, c.Threads, enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

var errBadHash = errors.New("malformed password hash")

// verify reports whether password matches the PHC-encoded hash, in time
// independent of where the two differ.
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
	got := argon2.IDKey([]byte(password), salt, c.Time, c.Memory, c.Threads, uint32(len(want)))
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
