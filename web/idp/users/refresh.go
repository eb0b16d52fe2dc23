package users

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Refresh is what a refresh token stands for. Every token minted from one
// sign-in shares its OriginJTI and EventID, so revoking the family ends all
// of them (as Cognito's RevokeToken does).
type Refresh struct {
	Sub       string    `json:"sub"`
	ClientID  string    `json:"clientId"`
	Scope     string    `json:"scope"`
	AuthTime  time.Time `json:"authTime"`
	OriginJTI string    `json:"originJti"`
	EventID   string    `json:"eventId"`
	Expires   time.Time `json:"expires"`
}

// SaveRefresh records an issued refresh token (only its digest is kept).
func (s *Store) SaveRefresh(ctx context.Context, token string, r Refresh) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	err = s.tokens.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRefresh).Put(digest(token), b)
	})
	if err != nil {
		return fmt.Errorf("save refresh token: %w", err)
	}
	return nil
}

// LookupRefresh returns what token stands for. It returns ErrBadCode when
// the token is unknown, expired, or its family has been revoked.
func (s *Store) LookupRefresh(ctx context.Context, token string) (Refresh, error) {
	if err := ctx.Err(); err != nil {
		return Refresh{}, err
	}
	var r Refresh
	err := s.tokens.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketRefresh).Get(digest(token))
		if v == nil {
			return ErrBadCode
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode refresh token: %w", err)
		}
		if !s.now().Before(r.Expires) || revoked(tx, r.OriginJTI, s.now()) {
			return ErrBadCode
		}
		return nil
	})
	return r, err
}

// RevokeFamily ends every token minted from the sign-in originJTI names
// until the given time (the latest expiry any of them can have).
func (s *Store) RevokeFamily(ctx context.Context, originJTI string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := until.UTC().MarshalText()
	if err != nil {
		return err
	}
	err = s.tokens.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRevoked).Put([]byte(originJTI), v)
	})
	if err != nil {
		return fmt.Errorf("revoke token family: %w", err)
	}
	return nil
}

// Revoked reports whether the token family originJTI names has been revoked.
func (s *Store) Revoked(ctx context.Context, originJTI string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	var r bool
	err := s.tokens.View(func(tx *bbolt.Tx) error {
		r = revoked(tx, originJTI, s.now())
		return nil
	})
	return r, err
}

func revoked(tx *bbolt.Tx, originJTI string, now time.Time) bool {
	v := tx.Bucket(bucketRevoked).Get([]byte(originJTI))
	if v == nil {
		return false
	}
	var until time.Time
	if err := until.UnmarshalText(v); err != nil {
		return true // unreadable: err on the side of refusing
	}
	return now.Before(until)
}
