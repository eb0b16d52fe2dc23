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
	// ErrPending is SignUp's answer for an address whose account was
	// never confirmed: the account is left as it is (see SignUp).
	ErrPending = errors.New("an unconfirmed account with this email exists")
	// ErrNoGroup is returned for a group the pool does not have.
	ErrNoGroup = errors.New("group not found")
)

// Status is an account's state, named as Cognito names it.
type Status string

// Account states.
const (
	Unconfirmed Status = "UNCONFIRMED"
	Confirmed   Status = "CONFIRMED"
	// ForceChangePassword is an account an administrator created with a
	// temporary password: its first sign-in must choose a new one.
	ForceChangePassword Status = "FORCE_CHANGE_PASSWORD"
	// ResetRequired is an account whose password an administrator
	// reset: it cannot sign in until its owner resets the password by code.
	ResetRequired Status = "RESET_REQUIRED"
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
	// Disabled accounts cannot sign in anywhere and their tokens stop
	// working (AdminDisableUser). Stored negated so that accounts written
	// before it existed read as enabled.
	Disabled bool `json:"disabled,omitempty"`
	// Attributes are the account's other attributes (name, given_name,
	// custom:..., ...), by Cognito's names. Email, email_verified and sub
	// are the fields above, never in this map.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Active reports whether the account may sign in and use its tokens:
// confirmed and enabled.
func (u User) Active() bool { return u.Status == Confirmed && !u.Disabled }

// Username is the account's Cognito username. The pool signs in by email,
// so, as in a Cognito pool whose username attribute is email, the username
// is the sub.
func (u User) Username() string { return u.Sub }

// record is a User as stored.
type record struct {
	User
	PasswordHash string `json:"passwordHash"`
	// SRPSalt and SRPVerifier are the SRP-6a salt and verifier of the
	// password (see Option WithVerifier), written with every new password.
	SRPSalt     []byte `json:"srpSalt,omitempty"`
	SRPVerifier []byte `json:"srpVerifier,omitempty"`
	// PendingEmail is the address the owner asked to change to and has not
	// verified yet (see ChangeEmail). It is no sign-in alias: it blocks
	// nobody's sign-up and finds no account until the code mailed to it is
	// verified.
	PendingEmail string `json:"pendingEmail,omitempty"`
}

var (
	bucketUsers   = []byte("users")   // sub → record
	bucketEmails  = []byte("emails")  // normalised email → sub
	bucketCodes   = []byte("codes")   // purpose/sub → code
	bucketRefresh = []byte("refresh") // sha256(token) → Refresh
	bucketRevoked = []byte("revoked") // origin_jti → expiry
	bucketGroups  = []byte("groups")  // name → Group
)

// Store is the user pool. It is safe for concurrent use.
type Store struct {
	db     *bbolt.DB // accounts and codes: every write is on disk when it returns
	tokens *bbolt.DB // refresh tokens and revocations: see Open
	cost   Cost
	now    func() time.Time
	dummy  string // a hash to verify against when the user is unknown
	srp    VerifierFunc
}

// VerifierFunc computes the SRP-6a salt and verifier for an account's
// username and password.
type VerifierFunc func(username, password string) (salt, verifier []byte, err error)

// Option configures a Store.
type Option func(*Store)

// WithVerifier makes the store keep an SRP verifier, computed by f, next to
// every password hash it writes from then on.
func WithVerifier(f VerifierFunc) Option { return func(s *Store) { s.srp = f } }

// Open opens (creating if needed) the pool in dir, with the given password
// cost and clock (time.Now when nil), and drops expired codes and tokens.
//
// Accounts live in dir/users.db, synced on every write. Refresh tokens live
// in dir/tokens.db, written without fsync: issuing one is on the path of
// every sign-in, a process crash loses none of them (the kernel has the
// writes), and after a power loss the worst case is a file that no longer
// opens, which Open replaces, signing everyone out of their applications.
func Open(dir string, cost Cost, now func() time.Time, opts ...Option) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	s := &Store{cost: cost, now: now}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.db, err = openDB(filepath.Join(dir, "users.db"), false,
		[][]byte{bucketUsers, bucketEmails, bucketCodes, bucketGroups}, s.prepare); err != nil {
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

// SignUp creates an unconfirmed account with the given extra attributes
// (nil for none). It returns ErrExists, changing nothing, when the address
// belongs to a confirmed account, ErrPending, changing nothing, when it
// belongs to an account that was never confirmed, and ErrBadEmail when it
// is not an address; the caller checks the password policy first.
//
// A pending account keeps the password it was registered with: letting a
// second sign-up replace it would let anyone who registers an address after
// its owner have the owner's confirmation link confirm the newcomer's
// password. An owner who did not register the pending account, or lost
// its password, claims it with a password reset, whose code only the
// mailbox gets and which sets the password the owner types.
//
// The password is hashed on every path, so the outcomes take about the
// same time. Of concurrent sign-ups of one address exactly one succeeds.
func (s *Store) SignUp(ctx context.Context, email, password string, attrs map[string]string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	sub := newUUID()
	sec, err := s.newSecret(sub, password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	r := record{User: User{
		Sub: sub, Email: email, Status: Unconfirmed, Created: now, Updated: now, Attributes: attrs,
	}}
	sec.apply(&r)
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if old := tx.Bucket(bucketEmails).Get([]byte(email)); old != nil {
			o, err := getRecord(tx, string(old))
			if err != nil {
				return err
			}
			if o.Status == Unconfirmed {
				return ErrPending
			}
			return ErrExists
		}
		if err := tx.Bucket(bucketEmails).Put([]byte(email), []byte(r.Sub)); err != nil {
			return err
		}
		return putRecord(tx, r)
	})
	if errors.Is(err, ErrExists) || errors.Is(err, ErrPending) {
		return User{}, err
	}
	if err != nil {
		return User{}, fmt.Errorf("sign up: %w", err)
	}
	return r.User, nil
}

// Create adds an account as an administrator does (AdminCreateUser, the
// seeded admin): with the given status, a verified email when verified is
// true, extra attributes and groups. It returns ErrExists when the address
// has an account and ErrNoGroup when a group does not exist.
func (s *Store) Create(ctx context.Context, email, password string, st Status, verified bool, attrs map[string]string, groups ...string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	sub := newUUID()
	sec, err := s.newSecret(sub, password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	r := record{User: User{
		Sub: sub, Email: email, EmailVerified: verified, Status: st,
		Groups: groups, Created: now, Updated: now, Attributes: attrs,
	}}
	sec.apply(&r)
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketEmails).Get([]byte(email)) != nil {
			return ErrExists
		}
		for _, g := range groups {
			if tx.Bucket(bucketGroups).Get([]byte(g)) == nil {
				return ErrNoGroup
			}
		}
		if err := tx.Bucket(bucketEmails).Put([]byte(email), []byte(r.Sub)); err != nil {
			return err
		}
		return putRecord(tx, r)
	})
	if errors.Is(err, ErrExists) || errors.Is(err, ErrNoGroup) {
		return User{}, err
	}
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return r.User, nil
}

func (s *Store) create(ctx context.Context, email, password string, st Status, groups ...string) (User, error) {
	return s.Create(ctx, email, password, st, st == Confirmed, nil, groups...)
}

// passwordSecret is what is kept of a password: its hash and, when the
// store has a VerifierFunc, its SRP salt and verifier.
type passwordSecret struct {
	hash           string
	salt, verifier []byte
}

// newSecret hashes password, and derives its SRP verifier for username.
func (s *Store) newSecret(username, password string) (passwordSecret, error) {
	h, err := s.cost.hash(password)
	if err != nil {
		return passwordSecret{}, err
	}
	sec := passwordSecret{hash: h}
	if s.srp != nil {
		if sec.salt, sec.verifier, err = s.srp(username, password); err != nil {
			return passwordSecret{}, fmt.Errorf("srp verifier: %w", err)
		}
	}
	return sec, nil
}

func (sec passwordSecret) apply(r *record) {
	r.PasswordHash, r.SRPSalt, r.SRPVerifier = sec.hash, sec.salt, sec.verifier
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
			sec, err := s.newSecret(r.Sub, password)
			if err != nil {
				return err
			}
			sec.apply(r)
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
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	var u User
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketUsers).Get([]byte(sub))
		if v == nil {
			return ErrNotFound
		}
		// Into User alone: the secrets are skipped, not decoded (Get is on
		// the path of every token the API checks).
		if err := json.Unmarshal(v, &u); err != nil {
			return fmt.Errorf("decode user %s: %w", sub, err)
		}
		return nil
	})
	return u, err
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
