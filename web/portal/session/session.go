// Package session keeps the portal's sessions server-side in one bbolt
// file. The browser holds only a session's random id; tokens and claims
// stay here. Sessions are created at sign-in: sign-ins in progress are the
// portal's, in memory.
//
// Sessions are stored under the SHA-256 of their id, so the file alone does
// not hand out cookies that would be accepted. The file still holds tokens:
// it is created with mode 0600 and belongs in the portal's data directory.
package session

import (
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

// Login is one authorization code flow in progress, kept by the portal
// until its callback.
type Login struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	ReturnTo string    `json:"return_to"`
	Started  time.Time `json:"started"`
}

// ErrNotFound means no live session has the id.
var ErrNotFound = errors.New("session not found")

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

func key(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

// Get returns the session with id, or ErrNotFound.
func (s *Store) Get(id string) (*Session, error) {
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

// Create stores sess under a fresh id, which it sets.
func (s *Store) Create(sess *Session) error {
	sess.ID = NewID()
	if err := s.db.Update(func(tx *bbolt.Tx) error { return put(tx, sess) }); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Update loads the session with id, lets fn change it, and stores the
// result, all in one transaction, so concurrent requests of one browser
// cannot lose each other's changes or both consume one sign-in flow. An
// error from fn leaves the session as it was and is returned as it is.
func (s *Store) Update(id string, fn func(*Session) error) (*Session, error) {
	if id == "" {
		return nil, ErrNotFound
	}
	var sess *Session
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var err error
		if sess, err = get(tx, id); err != nil {
			return err
		}
		if err := fn(sess); err != nil {
			return err
		}
		sess.ID = id // fn must not move it; Rotate does
		return put(tx, sess)
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// Rotate stores sess under a fresh id (which it sets) and deletes the
// session oldID, in one transaction: the id a browser had before signing
// in never names a signed-in session.
func (s *Store) Rotate(oldID string, sess *Session) error {
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
func (s *Store) Delete(id string) error {
	if id == "" {
		return nil
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucket).Delete(key(id)) }); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpired removes every session whose Expires is before now and
// returns how many it removed. Undecodable entries are removed too.
func (s *Store) DeleteExpired(now time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		var dead [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var sess struct {
				Expires time.Time `json:"expires"`
			}
			if json.Unmarshal(v, &sess) != nil || sess.Expires.Before(now) {
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
		n = len(dead)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
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
