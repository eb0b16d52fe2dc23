package users

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Purpose says what a one-time code proves.
type Purpose string

// Code purposes and their lifetimes (Cognito's: a day for a confirmation,
// an hour for a password reset).
const (
	PurposeConfirm Purpose = "confirm"
	PurposeReset   Purpose = "reset"
	// PurposeEmail verifies an address: the one an account asked to
	// change to (ChangeEmail), else its current one.
	PurposeEmail Purpose = "email"

	ConfirmTTL = 24 * time.Hour
	ResetTTL   = time.Hour
	EmailTTL   = 24 * time.Hour

	// MaxCodeAttempts is how many wrong guesses burn a code: a six-digit
	// reset code then has a 1 in 200,000 chance of being guessed.
	MaxCodeAttempts = 5
)

// ErrExpiredCode is the ErrBadCode of a code that is no longer there to
// guess: never issued, expired, used, burnt by wrong guesses, or replaced
// (Cognito's ExpiredCodeException, where a wrong guess is CodeMismatch).
var ErrExpiredCode = fmt.Errorf("%w (expired)", ErrBadCode)

type code struct {
	Digest   []byte    `json:"digest"`
	Expires  time.Time `json:"expires"`
	Attempts int       `json:"attempts"`
	// Bound is the account's state when the code was issued (see
	// binding); a code is good only while the state is the same.
	Bound []byte `json:"bound"`
}

func codeKey(p Purpose, sub string) []byte { return []byte(string(p) + "/" + sub) }

// purposes lists every code purpose, for deleting all of an account's codes.
var purposes = []Purpose{PurposeConfirm, PurposeReset, PurposeEmail}

// binding is what ties a code to the account as it was when the code was
// issued: a digest of its password hash (itself salted afresh on every
// change). A new password, whether from a second sign-up of an unconfirmed
// address or from a reset, makes every earlier code useless, so an old link
// cannot confirm an account whose password someone else has since chosen.
func binding(r record) []byte { return digest("code binding\x00" + r.PasswordHash) }

func deleteCodes(tx *bbolt.Tx, sub string) error {
	for _, p := range purposes {
		if err := tx.Bucket(bucketCodes).Delete(codeKey(p, sub)); err != nil {
			return err
		}
	}
	return nil
}

// NewCode issues a one-time code for sub, replacing any earlier code with
// the same purpose. Confirmation codes travel in links and are long random
// strings; reset and email codes are typed by people and are six digits,
// as Cognito's.
func (s *Store) NewCode(ctx context.Context, sub string, p Purpose) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var secret string
	err := s.db.Update(func(tx *bbolt.Tx) error {
		r, err := getRecord(tx, sub)
		if err != nil {
			return err
		}
		secret, err = s.putCode(tx, r, p)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("issue %s code for %s: %w", p, sub, err)
	}
	return secret, nil
}

// putCode makes a new code for purpose p and stores it for r, bound to r
// as it is.
func (s *Store) putCode(tx *bbolt.Tx, r record, p Purpose) (string, error) {
	var secret string
	ttl := ConfirmTTL
	switch p {
	case PurposeConfirm:
		secret = rand.Text()
	case PurposeReset, PurposeEmail:
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", fmt.Errorf("%s code: %w", p, err)
		}
		secret = fmt.Sprintf("%06d", n.Int64())
		ttl = ResetTTL
		if p == PurposeEmail {
			ttl = EmailTTL
		}
	default:
		return "", fmt.Errorf("unknown code purpose %q", p)
	}
	b, err := json.Marshal(code{Digest: digest(secret), Expires: s.now().Add(ttl).UTC(), Bound: binding(r)})
	if err != nil {
		return "", err
	}
	return secret, tx.Bucket(bucketCodes).Put(codeKey(p, r.Sub), b)
}

// useCode consumes sub's code for purpose p without changing the account.
// It returns ErrBadCode when there is no such code, it has expired, the
// account's password changed since it was issued, or secret is wrong; wrong
// guesses count, and the code is gone after MaxCodeAttempts of them or one
// right one. (The provider itself always consumes a code together with
// what it proves: ConfirmWithCode, ResetPassword.)
func (s *Store) useCode(ctx context.Context, sub string, p Purpose, secret string) error {
	return s.withCode(ctx, sub, p, secret, nil)
}

// ConfirmWithCode consumes sub's confirmation code and confirms the account
// in one transaction, so no change of password can slip in between the check
// and the confirmation. Errors are useCode's.
func (s *Store) ConfirmWithCode(ctx context.Context, sub, secret string) error {
	return s.withCode(ctx, sub, PurposeConfirm, secret, func(_ *bbolt.Tx, r *record) error {
		r.Status, r.EmailVerified = Confirmed, true
		return nil
	})
}

// ResetPassword consumes sub's reset code and, in the same transaction, sets
// the new password and confirms the account (the code proved the mailbox).
// Errors are useCode's; the caller checks the password policy first.
func (s *Store) ResetPassword(ctx context.Context, sub, secret, password string) error {
	sec, err := s.newSecret(sub, password)
	if err != nil {
		return err
	}
	return s.withCode(ctx, sub, PurposeReset, secret, func(_ *bbolt.Tx, r *record) error {
		sec.apply(r)
		// The new hash changes the binding: any other code (a
		// confirmation link still in the mailbox) stops working.
		r.Status, r.EmailVerified = Confirmed, true
		return nil
	})
}

// withCode checks and consumes a code and, when it is right and change is
// not nil, applies change to the account in the same transaction.
func (s *Store) withCode(ctx context.Context, sub string, p Purpose, secret string, change func(*bbolt.Tx, *record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var ok, expired bool
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCodes)
		k := codeKey(p, sub)
		v := b.Get(k)
		if v == nil {
			expired = true
			return nil
		}
		r, err := getRecord(tx, sub)
		if err != nil {
			expired = true
			return b.Delete(k)
		}
		var c code
		if err := json.Unmarshal(v, &c); err != nil {
			expired = true
			return b.Delete(k)
		}
		if !s.now().Before(c.Expires) || !equalDigest(c.Bound, binding(r)) {
			expired = true
			return b.Delete(k)
		}
		if equalDigest(digest(secret), c.Digest) {
			ok = true
			if err := b.Delete(k); err != nil || change == nil {
				return err
			}
			if err := change(tx, &r); err != nil {
				return err
			}
			r.Updated = s.now().UTC()
			return putRecord(tx, r)
		}
		c.Attempts++
		if c.Attempts >= MaxCodeAttempts {
			return b.Delete(k)
		}
		nv, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return b.Put(k, nv)
	})
	if err != nil {
		return fmt.Errorf("use %s code for %s: %w", p, sub, err)
	}
	if expired {
		return ErrExpiredCode
	}
	if !ok {
		return ErrBadCode
	}
	return nil
}

// sweepExpired drops the entries of bucket b for which expired is true.
func sweepExpired(b *bbolt.Bucket, expired func(v []byte) bool) error {
	var dead [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if expired(v) {
			dead = append(dead, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// prepare makes sure the admins group exists and drops expired codes.
func (s *Store) prepare(tx *bbolt.Tx) error {
	if err := ensureGroup(tx, Group{Name: AdminGroup, Description: "May list and administer users", Created: s.now().UTC()}); err != nil {
		return err
	}
	return s.sweepCodes(tx)
}

// sweepCodes drops expired codes.
func (s *Store) sweepCodes(tx *bbolt.Tx) error {
	now := s.now()
	return sweepExpired(tx.Bucket(bucketCodes), func(v []byte) bool {
		var c code
		return json.Unmarshal(v, &c) != nil || !now.Before(c.Expires)
	})
}

// sweepTokens drops expired refresh tokens and revocations.
func (s *Store) sweepTokens(tx *bbolt.Tx) error {
	now := s.now()
	err := sweepExpired(tx.Bucket(bucketRefresh), func(v []byte) bool {
		var r Refresh
		return json.Unmarshal(v, &r) != nil || !now.Before(r.Expires)
	})
	if err != nil {
		return err
	}
	return sweepExpired(tx.Bucket(bucketRevoked), func(v []byte) bool {
		var t time.Time
		return t.UnmarshalText(v) != nil || !now.Before(t)
	})
}
