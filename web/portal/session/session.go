// Package session defines the portal's server-side sessions and keeps them
// in one bbolt file (Store); package session/dynamo keeps them in a
// DynamoDB table, and package session/sessiontest is the contract both keep.
// The browser holds only a session's random id; tokens and claims stay in
// the store. Sessions are created at sign-in: sign-ins in progress travel
// in the browser, sealed by the portal.
//
// Sessions are stored under the SHA-256 of their id (Hash), so the store
// alone does not hand out cookies that would be accepted. The file still
// holds tokens: it is created with mode 0600 and belongs in the portal's
// data directory.
//
// A store does not judge expiry: Get returns a session past its Expires
// until something deletes it (the bbolt sweep, DynamoDB's TTL, which lags
// by up to two days), and the portal treats such a session as absent,
// deleting it and revoking its refresh token.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Session is one browser's state. The zero value is an anonymous session.
type Session struct {
	// ID is the random id the browser presents; it is not stored.
	ID string `json:"-"`
	// Version is the store's revision of the session when it was read;
	// stores that write conditionally use it so that a write based on a
	// stale read is retried on the fresh one, never lost or resurrecting.
	Version int64 `json:"-"`
	// Created is when the session began; it bounds its absolute lifetime.
	Created time.Time `json:"created"`
	// Seen is when the session was last used; it bounds its idle lifetime.
	Seen time.Time `json:"seen"`
	// Expires is when the session ends unless it is used again; the
	// portal sets it from its idle and absolute limits.
	Expires time.Time `json:"expires"`

	// User is who signed in, from the verified ID token; nil when no one has.
	User *User `json:"user,omitempty"`
	// Tokens are the provider's tokens for User.
	Tokens *Tokens `json:"tokens,omitempty"`

	// Flash is a message shown once on the next page.
	Flash string `json:"flash,omitempty"`
	// Pages remembers, for the Users listing, the cursor of the page that
	// led to each cursor, so "Previous" can go back.
	Pages map[string]string `json:"pages,omitempty"`
}

// User is the signed-in person, as the ID token describes them.
type User struct {
	Subject  string `json:"sub"`
	Username string `json:"username"`
	Email    string `json:"email"`
	// EmailVerified is the provider's email_verified claim.
	EmailVerified bool      `json:"email_verified"`
	Groups        []string  `json:"groups,omitempty"`
	AuthTime      time.Time `json:"auth_time"`
}

// InGroup reports whether the user is a member of group.
func (u *User) InGroup(group string) bool {
	if u == nil {
		return false
	}
	for _, g := range u.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// Tokens are what the provider's token endpoint returned.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token"`
	Expiry       time.Time `json:"expiry"`
}

// Login is one authorization code flow in progress, which the portal seals
// into a cookie of the browser that started it until its callback.
type Login struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	ReturnTo string    `json:"return_to"`
	Started  time.Time `json:"started"`
}

// Expired reports whether the session has ended at now.
func (s *Session) Expired(now time.Time) bool { return !now.Before(s.Expires) }

// Clone returns a deep copy of s, so that a change to it (by an Update
// function that may run more than once) never reaches s.
func (s *Session) Clone() *Session {
	c := *s
	if s.User != nil {
		u := *s.User
		u.Groups = append([]string(nil), s.User.Groups...)
		c.User = &u
	}
	if s.Tokens != nil {
		t := *s.Tokens
		c.Tokens = &t
	}
	if s.Pages != nil {
		c.Pages = make(map[string]string, len(s.Pages))
		for k, v := range s.Pages {
			c.Pages[k] = v
		}
	}
	return &c
}

// ErrNotFound means no session has the id.
var ErrNotFound = errors.New("session not found")

// ErrUnavailable means the store could not be reached or shed the request
// (DynamoDB throttling, say); nothing was written, and trying again later
// may succeed.
var ErrUnavailable = errors.New("session store unavailable")

var bucket = []byte("sessions")

// Store is a bbolt-backed set of sessions. It is safe for concurrent use.
type Store struct {
	db *bbolt.DB
}

// Open opens (creating if needed, mode 0600) the session file at path. It
// waits at most a second for another process's lock.
func Open(path string) (*Store, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open session store %s: %w", path, err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare session store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the file.
func (s *Store) Close() error { return s.db.Close() }

// idBytes is the entropy of a session id: 256 bits.
const idBytes = 32

// NewID returns a fresh session id: 256 random bits, base64url.
func NewID() string {
	b := make([]byte, idBytes)
	rand.Read(b) // never fails; it crashes the program rather than return
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the key a session is stored under: the SHA-256 of its id.
func Hash(id string) [sha256.Size]byte { return sha256.Sum256([]byte(id)) }

func key(id string) []byte {
	sum := Hash(id)
	return sum[:]
}

// Get returns the session with id, or ErrNotFound. It returns a session
// past its Expires too: see the package documentation.
func (s *Store) Get(ctx context.Context, id string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, ErrNotFound
	}
	var sess *Session
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		sess, err = get(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

func get(tx *bbolt.Tx, id string) (*Session, error) {
	v := tx.Bucket(bucket).Get(key(id))
	if v == nil {
		return nil, ErrNotFound
	}
	sess := new(Session)
	if err := json.Unmarshal(v, sess); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	sess.ID = id
	return sess, nil
}

func put(tx *bbolt.Tx, sess *Session) error {
	v, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	return tx.Bucket(bucket).Put(key(sess.ID), v)
}

// Create stores sess under a fresh id, which it sets. It never overwrites.
func (s *Store) Create(ctx context.Context, sess *Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sess.ID = NewID()
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucket).Get(key(sess.ID)) != nil {
			return errors.New("id already in use") // 256 random bits: never
		}
		return put(tx, sess)
	}); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Update lets fn change the stored session that sess was read from, and
// stores the result, all in one transaction, so concurrent requests of one
// browser cannot lose each other's changes, and a change cannot bring back
// a session that was deleted or rotated away meanwhile (ErrNotFound). fn
// sees the stored state, which may be newer than sess. An error from fn
// leaves the session as it was and is returned as it is.
func (s *Store) Update(ctx context.Context, sess *Session, fn func(*Session) error) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := sess.ID
	if id == "" {
		return nil, ErrNotFound
	}
	var out *Session
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var err error
		if out, err = get(tx, id); err != nil {
			return err
		}
		if err := fn(out); err != nil {
			return err
		}
		out.ID = id // fn must not move it; Rotate does
		return put(tx, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Rotate stores sess under a fresh id (which it sets) and deletes the
// session oldID, in one transaction: the id a browser had before signing
// in never names a signed-in session.
func (s *Store) Rotate(ctx context.Context, oldID string, sess *Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sess.ID = NewID()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if oldID != "" {
			if err := tx.Bucket(bucket).Delete(key(oldID)); err != nil {
				return err
			}
		}
		return put(tx, sess)
	})
	if err != nil {
		return fmt.Errorf("rotate session: %w", err)
	}
	return nil
}

// Delete removes the session with id; a missing session is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if id == "" {
		return nil
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucket).Delete(key(id)) }); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpired removes every session whose Expires is not after now and
// returns them (without their ids, which are not stored), so that the
// caller can revoke their refresh tokens. Undecodable entries are removed
// too, and not returned.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) ([]*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var gone []*Session
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		var dead [][]byte
		err := b.ForEach(func(k, v []byte) error {
			sess := new(Session)
			if json.Unmarshal(v, sess) != nil {
				dead = append(dead, append([]byte(nil), k...))
			} else if sess.Expired(now) {
				dead = append(dead, append([]byte(nil), k...))
				gone = append(gone, sess)
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
	})
	if err != nil {
		return nil, fmt.Errorf("delete expired sessions: %w", err)
	}
	return gone, nil
}

// ValidID reports whether id has the shape NewID produces, so that
// malformed cookies are refused before touching the store.
func ValidID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil && len(b) == idBytes
}
