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

	ConfirmTTL = 24 * time.Hour
	ResetTTL   = time.Hour

	// MaxCodeAttempts is how many wrong guesses burn a code: a six-digit
	// reset code then has a 1 in 200,000 chance of being guessed.
	MaxCodeAttempts = 5
)

type code struct {
	Digest   []byte    `json:"digest"`
	Expires  time.Time `json:"expires"`
	Attempts int       `json:"attempts"`
}

func codeKey(p Purpose, sub string) []byte { return []byte(string(p) + "/" + sub) }

// NewCode issues a one-time code for sub, replacing any earlier code with
// the same purpose. Confirmation codes travel in links and are long random
// strings; reset codes are typed by people and are six digits, as Cognito's.
func (s *Store) NewCode(ctx context.Context, sub string, p Purpose) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var secret string
	ttl := ConfirmTTL
	switch p {
	case PurposeConfirm:
		secret = rand.Text()
	case PurposeReset:
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", fmt.Errorf("reset code: %w", err)
		}
		secret = fmt.Sprintf("%06d", n.Int64())
		ttl = ResetTTL
	default:
		return "", fmt.Errorf("unknown code purpose %q", p)
	}
	c := code{Digest: digest(secret), Expires: s.now().Add(ttl).UTC()}
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if _, err := getRecord(tx, sub); err != nil {
			return err
		}
		return tx.Bucket(bucketCodes).Put(codeKey(p, sub), b)
	})
	if err != nil {
		return "", fmt.Errorf("issue %s code for %s: %w", p, sub, err)
	}
	return secret, nil
}

// UseCode consumes sub's code for purpose p. It returns ErrBadCode when there
// is no such code, it has expired, or secret is wrong; wrong guesses count,
// and the code is gone after MaxCodeAttempts of them or one right one.
func (s *Store) UseCode(ctx context.Context, sub string, p Purpose, secret string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var ok bool
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCodes)
		k := codeKey(p, sub)
		v := b.Get(k)
		if v == nil {
			return nil
		}
		var c code
		if err := json.Unmarshal(v, &c); err != nil {
			return b.Delete(k)
		}
		if !s.now().Before(c.Expires) {
			return b.Delete(k)
		}
		if equalDigest(digest(secret), c.Digest) {
			ok = true
			return b.Delete(k)
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
