// Package users is the identity provider's user pool in one bbolt file:
// accounts (email as the sign-in name, argon2id password hashes, status,
// groups), the one-time codes that confirm an address or reset a password,
// and the refresh tokens issued to each account.
//
// Like a Cognito pool whose username attribute is email, an account's
// username is its sub (a random UUID) and the email is an alias, compared
// case-insensitively.
package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Errors the store returns; callers map them to pages and never show the
// difference between ErrNotFound and ErrBadCredentials to a visitor.
var (
	ErrNotFound       = errors.New("user not found")
	ErrExists         = errors.New("an account with this email exists")
	ErrBadCredentials = errors.New("incorrect username or password")
	ErrBadCode        = errors.New("invalid or expired code")
	ErrBadEmail       = errors.New("invalid email address")
)

// Status is an account's state, named as Cognito names it.
type Status string

// Account states.
const (
	Unconfirmed Status = "UNCONFIRMED"
	Confirmed   Status = "CONFIRMED"
)

// AdminGroup is the group whose members may list users.
const AdminGroup = "admins"

// User is an account as the rest of the provider sees it (no password hash).
type User struct {
	Sub           string    `json:"sub"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"emailVerified"`
	Status        Status    `json:"status"`
	Groups        []string  `json:"groups,omitempty"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`
}

// record is a User as stored.
type record struct {
	User
	PasswordHash string `json:"passwordHash"`
}

var (
	bucketUsers   = []byte("users")   // sub → record
	bucketEmails  = []byte("emails")  // normalised email → sub
	bucketCodes   = []byte("codes")   // purpose/sub → code
	bucketRefresh = []byte("refresh") // sha256(token) → Refresh
	bucketRevoked = []byte("revoked") // origin_jti → expiry
)

// Store is the user pool. It is safe for concurrent use.
type Store struct {
	db     *bbolt.DB // accounts and codes: every write is on disk when it returns
	tokens *bbolt.DB // refresh tokens and revocations: see Open
	cost   Cost
	now    func() time.Time
	dummy  string // a hash to verify against when the user is unknown
}

// Open opens (creating if needed) the pool in dir, with the given password
// cost and clock (time.Now when nil), and drops expired codes and tokens.
//
// Accounts live in dir/users.db, synced on every write. Refresh tokens live
// in dir/tokens.db, written without fsync: issuing one is on the path of
// every sign-in, a process crash loses none of them (the kernel has the
// writes), and after a power loss the worst case is a file that no longer
// opens, which Open replaces, signing everyone out of their applications.
func Open(dir string, cost Cost, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	s := &Store{cost: cost, now: now}
	var err error
	if s.db, err = openDB(filepath.Join(dir, "users.db"), false,
		[][]byte{bucketUsers, bucketEmails, bucketCodes}, s.sweepCodes); err != nil {
		return nil, err
	}
	tokensPath := filepath.Join(dir, "tokens.db")
	tokenBuckets := [][]byte{bucketRefresh, bucketRevoked}
	s.tokens, err = openDB(tokensPath, true, tokenBuckets, s.sweepTokens)
	if err != nil && !errors.Is(err, bbolt.ErrTimeout) {
		// Disposable: start again rather than refuse to start.
		if rmErr := os.Remove(tokensPath); rmErr == nil {
			s.tokens, err = openDB(tokensPath, true, tokenBuckets, s.sweepTokens)
		}
	}
	if err != nil {
		s.db.Close()
		return nil, err
	}
	if s.dummy, err = cost.hash(rand.Text()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openDB(path string, noSync bool, buckets [][]byte, sweep func(*bbolt.Tx) error) (*bbolt.DB, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, NoSync: noSync})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return sweep(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare %s: %w", path, err)
	}
	return db, nil
}

// Close releases the pool's files.
func (s *Store) Close() error {
	return errors.Join(s.db.Close(), s.tokens.Close())
}

// NormalizeEmail returns the canonical form of an email address used as a
// sign-in name, or ErrBadEmail.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 254 {
		return "", ErrBadEmail
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email, "@") {
		return "", ErrBadEmail
	}
	return email, nil
}

// SignUp creates an unconfirmed account. When the address already has an
// account that was never confirmed, SignUp gives that account this password
// instead and invalidates its outstanding codes: whoever registered it first
// never proved they own the mailbox, so a later registrant (perhaps the
// owner) must not end up confirming someone else's password. The account
// keeps its sub. It returns ErrExists, changing nothing, when the address
// belongs to a confirmed account, and ErrBadEmail when it is not an address;
// the caller checks the password policy first.
//
// The password is hashed on every path, so the three outcomes take about the
// same time.
func (s *Store) SignUp(ctx context.Context, email, password string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	h, err := s.cost.hash(password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	var r record
	err = s.db.Update(func(tx *bbolt.Tx) error {
		sub := tx.Bucket(bucketEmails).Get([]byte(email))
		if sub == nil {
			r = record{
				User: User{
					Sub: newUUID(), Email: email, Status: Unconfirmed,
					Created: now, Updated: now,
				},
				PasswordHash: h,
			}
			if err := tx.Bucket(bucketEmails).Put([]byte(email), []byte(r.Sub)); err != nil {
				return err
			}
			return putRecord(tx, r)
		}
		var err error
		if r, err = getRecord(tx, string(sub)); err != nil {
			return err
		}
		if r.Status == Confirmed {
			return ErrExists
		}
		r.PasswordHash, r.Updated = h, now
		// Codes are bound to the password hash (see NewCode) and so are
		// already useless; deleting them says so.
		if err := deleteCodes(tx, r.Sub); err != nil {
			return err
		}
		return putRecord(tx, r)
	})
	if errors.Is(err, ErrExists) {
		return User{}, ErrExists
	}
	if err != nil {
		return User{}, fmt.Errorf("sign up: %w", err)
	}
	return r.User, nil
}

func (s *Store) create(ctx context.Context, email, password string, st Status, groups ...string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	h, err := s.cost.hash(password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	r := record{
		User: User{
			Sub: newUUID(), Email: email, EmailVerified: st == Confirmed, Status: st,
			Groups: groups, Created: now, Updated: now,
		},
		PasswordHash: h,
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketEmails).Get([]byte(email)) != nil {
			return ErrExists
		}
		if err := tx.Bucket(bucketEmails).Put([]byte(email), []byte(r.Sub)); err != nil {
			return err
		}
		return putRecord(tx, r)
	})
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return r.User, nil
}

// Seed makes sure a confirmed account with this email exists in groups. When
// password is not empty the account's password is set to it; when the
// account is new and password is empty, a password is generated and
// returned (the only time it is ever known).
func (s *Store) Seed(ctx context.Context, email, password string, groups ...string) (u User, generated string, err error) {
	u, err = s.ByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound):
		if password == "" {
			generated = GeneratePassword()
			password = generated
		}
		u, err = s.create(ctx, email, password, Confirmed, groups...)
		return u, generated, err
	case err != nil:
		return User{}, "", err
	}
	err = s.update(ctx, u.Sub, func(r *record) error {
		r.Status, r.EmailVerified = Confirmed, true
		for _, g := range groups {
			if !slices.Contains(r.Groups, g) {
				r.Groups = append(r.Groups, g)
			}
		}
		if password != "" {
			h, err := s.cost.hash(password)
			if err != nil {
				return err
			}
			r.PasswordHash = h
		}
		return nil
	})
	if err != nil {
		return User{}, "", err
	}
	u, err = s.Get(ctx, u.Sub)
	return u, "", err
}

// GeneratePassword returns a random password that satisfies the policy.
func GeneratePassword() string {
	// rand.Text has 26 characters of base32 (upper case and digits); the
	// suffix adds the lower-case letter and symbol the policy wants.
	return rand.Text() + "a!"
}

// Get returns the account with this sub.
func (s *Store) Get(ctx context.Context, sub string) (User, error) {
	r, err := s.get(ctx, sub)
	return r.User, err
}

func (s *Store) get(ctx context.Context, sub string) (record, error) {
	if err := ctx.Err(); err != nil {
		return record{}, err
	}
	var r record
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		r, err = getRecord(tx, sub)
		return err
	})
	return r, err
}

// ByEmail returns the account whose sign-in email this is.
func (s *Store) ByEmail(ctx context.Context, email string) (User, error) {
	r, err := s.byEmail(ctx, email)
	return r.User, err
}

func (s *Store) byEmail(ctx context.Context, email string) (record, error) {
	if err := ctx.Err(); err != nil {
		return record{}, err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return record{}, ErrNotFound
	}
	var r record
	err = s.db.View(func(tx *bbolt.Tx) error {
		sub := tx.Bucket(bucketEmails).Get([]byte(email))
		if sub == nil {
			return ErrNotFound
		}
		var err error
		r, err = getRecord(tx, string(sub))
		return err
	})
	return r, err
}

// Authenticate checks an email and password. It returns ErrBadCredentials
// both for an unknown email and a wrong password, after the same amount of
// hashing work, so neither the answer nor its timing tells them apart. It
// does not look at the account's status: the caller decides what an
// unconfirmed account may do.
func (s *Store) Authenticate(ctx context.Context, email, password string) (User, error) {
	r, err := s.byEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		// Busy for an unknown name as for a known one, or the answer
		// under load would tell them apart.
		if _, err := verify(s.dummy, password); errors.Is(err, ErrBusy) {
			return User{}, ErrBusy
		}
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	ok, err := verify(r.PasswordHash, password)
	if err != nil {
		return User{}, fmt.Errorf("verify password of %s: %w", r.Sub, err)
	}
	if !ok {
		return User{}, ErrBadCredentials
	}
	return r.User, nil
}

func (s *Store) update(ctx context.Context, sub string, change func(*record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		r, err := getRecord(tx, sub)
		if err != nil {
			return err
		}
		if err := change(&r); err != nil {
			return err
		}
		r.Updated = s.now().UTC()
		return putRecord(tx, r)
	})
	if err != nil {
		return fmt.Errorf("update user %s: %w", sub, err)
	}
	return nil
}

func getRecord(tx *bbolt.Tx, sub string) (record, error) {
	v := tx.Bucket(bucketUsers).Get([]byte(sub))
	if v == nil {
		return record{}, ErrNotFound
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return record{}, fmt.Errorf("decode user %s: %w", sub, err)
	}
	return r, nil
}

func putRecord(tx *bbolt.Tx, r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketUsers).Put([]byte(r.Sub), b)
}

// newUUID returns a random (version 4) UUID, the shape of Cognito's sub.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewUUID returns a random version 4 UUID (for jti and event ids).
func NewUUID() string { return newUUID() }

// digest is how secrets (codes, refresh tokens) are keyed and compared: a
// leaked database file gives no usable secret away.
func digest(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func equalDigest(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
