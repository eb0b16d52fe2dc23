package idp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/usersvc/usersvc/web/idp/keys"
	"github.com/usersvc/usersvc/web/idp/outbox"
	"github.com/usersvc/usersvc/web/idp/srp"
	"github.com/usersvc/usersvc/web/idp/users"
	"github.com/usersvc/usersvc/web/loopback"
)

// Lifetimes of the provider's own short-lived state.
const (
	// SessionTTL is how long a Hosted UI sign-in lasts (Cognito: one hour).
	SessionTTL = time.Hour
	// CodeTTL is how long an authorization code can be exchanged.
	CodeTTL = 5 * time.Minute
)

// Server is the identity provider. Build it with New, serve Handler, and
// Close it when done.
type Server struct {
	log     *slog.Logger
	now     func() time.Time
	origin  string // public origin, no trailing slash
	poolID  string
	issuer  string
	clients map[string]*client
	keys    *keys.Set
	users   *users.Store
	outbox  *outbox.Outbox
	handler http.Handler

	showOutbox bool
	csrfKey    []byte
	cookies    cookieNames
	secure     bool // cookies carry Secure (and the __Host- prefix)

	discovery []byte // rendered once: it never changes while running

	adminPassword string // generated at start-up, if one was

	// Cognito's JSON API (cognito_*.go).
	api             map[string]operation
	accessKeyID     string
	secretAccessKey string
	challenges      *challenges
	verified        *tokenCache
	srp             *srp.Server
	srpKey          []byte
	verifySignature func(r *http.Request, body []byte) error
	revokeAll       func(ctx context.Context, sub string) error // users.RevokeAll when nil; tests make it fail

	mu       sync.Mutex
	sessions map[[32]byte]session
	grants   map[[32]byte]*grant
	// sessionGrants lists each provider session's codes (by the session's
	// event id), oldest first, for MaxCodesPerSession.
	sessionGrants map[string][][32]byte
	limits        grantLimits
	lastSweep     time.Time
	lockout       *lockout
	hashRate      *keyedLimiter // password-hashing forms, per client
	mail          *mailLimits
	outboxRemote  bool
	pace          pacer // for the forms that must not reveal accounts by timing
	closeOnce     sync.Once
	closeError    error
}

// client is a registered app client with what is derived from it once.
type client struct {
	Client
	ttl lifetimes
	// callbackOrigins are where the sign-in form may send the browser after
	// a POST, for the form-action directive of the CSP.
	callbackOrigins []string
}

// session is a signed-in browser.
type session struct {
	sub      string
	authTime time.Time
	eventID  string
	expires  time.Time
}

// grant is an issued authorization code and what it stands for.
type grant struct {
	clientID      string
	redirectURI   string
	scope         string
	nonce         string
	challenge     string
	sub           string
	authTime      time.Time
	eventID       string
	expires       time.Time
	used          bool
	originJTI     string // of the tokens it was exchanged for, once it was
	refreshExpiry time.Time
}

type cookieNames struct{ session, csrf string }

// New builds a provider: it opens (or creates) the keys, the user pool and
// the outbox under cfg.DataDir, and seeds the admin account.
func New(cfg Config) (*Server, error) {
	s := &Server{
		log:        cfg.Log,
		now:        cfg.Now,
		poolID:     cfg.PoolID,
		clients:    map[string]*client{},
		showOutbox: cfg.Outbox,
		sessions:   map[[32]byte]session{},
		grants:     map[[32]byte]*grant{},

		sessionGrants: map[string][][32]byte{},
		limits:        grantLimits{perSession: MaxCodesPerSession, total: MaxCodes},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = slog.New(requestIDHandler{s.log.Handler()})
	if s.now == nil {
		s.now = time.Now
	}
	if s.poolID == "" {
		s.poolID = DefaultPoolID
	}
	if !validPoolID(s.poolID) {
		return nil, fmt.Errorf("pool id %q: want <region>_<letters and digits>", s.poolID)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("provider URL %q: want an http(s) origin such as http://localhost:9229", cfg.URL)
	}
	s.origin = u.Scheme + "://" + u.Host
	s.issuer = s.origin + "/" + s.poolID
	s.secure = u.Scheme == "https" || loopback.IsLocal(u.Hostname())
	if s.secure {
		s.cookies = cookieNames{session: "__Host-idp-session", csrf: "__Host-idp-csrf"}
	} else {
		s.cookies = cookieNames{session: "idp-session", csrf: "idp-csrf"}
	}
	s.lockout = newLockout(s.now)
	// Rate limits run on the wall clock: tests move Config.Clock by hours.
	s.hashRate = newKeyedLimiter(HashRate, HashBurst, time.Now)
	s.mail = newMailLimits(time.Now)
	s.outboxRemote = cfg.OutboxRemote
	s.pace = newPacer(s.log)
	if len(cfg.Clients) == 0 {
		return nil, errors.New("no app clients configured")
	}
	for _, c := range cfg.Clients {
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("client %q: %w", c.ClientId, err)
		}
		if _, dup := s.clients[c.ClientId]; dup {
			return nil, fmt.Errorf("client %q listed twice", c.ClientId)
		}
		rc := &client{Client: c}
		rc.ttl, _ = c.lifetimes() // validate checked it
		for _, cb := range c.CallbackURLs {
			cu, _ := url.Parse(cb)
			rc.callbackOrigins = append(rc.callbackOrigins, cu.Scheme+"://"+cu.Host)
		}
		s.clients[c.ClientId] = rc
	}
	if cfg.DataDir == "" {
		return nil, errors.New("no data directory")
	}
	// A password Cognito would refuse must not work here either, or the
	// twin hides a failure until the first deployment.
	if problems := users.CheckPassword(cfg.AdminPassword); cfg.AdminPassword != "" && len(problems) > 0 {
		return nil, fmt.Errorf("admin password breaks the password policy: %s", strings.Join(problems, "; "))
	}
	s.csrfKey = make([]byte, 32)
	rand.Read(s.csrfKey)
	if s.discovery, err = json.Marshal(s.discoveryDocument()); err != nil {
		return nil, fmt.Errorf("render discovery document: %w", err)
	}

	dir := filepath.Join(cfg.DataDir, "idp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if s.keys, err = keys.Open(filepath.Join(dir, "keys.json"), s.now); err != nil {
		return nil, err
	}
	cost := cfg.PasswordCost
	if cost == (users.Cost{}) {
		cost = users.DefaultCost
	}
	if err := s.loadCredentials(cfg, dir); err != nil {
		return nil, err
	}
	if s.users, err = users.Open(dir, cost, s.now, s.userOptions()...); err != nil {
		return nil, err
	}
	s.outbox = outbox.New(filepath.Join(cfg.DataDir, "outbox"), "no-reply@"+u.Hostname(), s.log, s.now)
	if cfg.AdminEmail != "" {
		admin, generated, err := s.users.Seed(context.Background(), cfg.AdminEmail, cfg.AdminPassword, users.AdminGroup)
		if err != nil {
			s.users.Close()
			return nil, fmt.Errorf("seed admin %s: %w", cfg.AdminEmail, err)
		}
		s.adminPassword = generated
		s.log.Info("admin account ready", "email", admin.Email, "sub", admin.Sub, "group", users.AdminGroup)
	}
	s.challenges = newChallenges()
	s.verified = newTokenCache()
	s.api = s.apiOperations()
	s.handler = s.routes()
	return s, nil
}

func validPoolID(id string) bool {
	region, rest, ok := strings.Cut(id, "_")
	if !ok || region == "" || rest == "" || len(id) > 55 {
		return false
	}
	for _, r := range region {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	for _, r := range rest {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Handler returns the provider's HTTP handler: the Hosted UI, the OAuth 2.0
// endpoints, and discovery and keys under the issuer's path.
func (s *Server) Handler() http.Handler { return s.handler }

// Issuer returns the issuer identifier: <URL>/<PoolID>.
func (s *Server) Issuer() string { return s.issuer }

// GeneratedAdminPassword returns the admin password generated at start-up
// and true, or "" and false when none was (the account existed already or
// Config.AdminPassword was set). Show it once; it is never stored in clear.
func (s *Server) GeneratedAdminPassword() (string, bool) {
	return s.adminPassword, s.adminPassword != ""
}

// Outbox returns the mail outbox, for tests and tools that read the mail the
// provider sent (verification links, reset codes).
func (s *Server) Outbox() *outbox.Outbox { return s.outbox }

// Users returns the user pool, for tests and tools that check or create
// accounts directly; the provider's own handlers never need it.
func (s *Server) Users() *users.Store { return s.users }

// RotateKeys replaces both signing keys. Tokens signed with the old ones
// stay verifiable: their keys stay in the JWKS until those tokens expire.
func (s *Server) RotateKeys() error { return s.keys.Rotate() }

// Close releases the user pool's file. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeError = s.users.Close() })
	return s.closeError
}

func (s *Server) client(id string) (*client, bool) {
	c, ok := s.clients[id]
	return c, ok
}

// newSecret returns 32 random bytes, base64url encoded (256 bits: codes,
// session ids, refresh tokens).
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return b64.EncodeToString(b)
}

func key(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// sweepLocked drops expired sessions and codes, at most once a minute.
// The caller holds s.mu.
func (s *Server) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for k, v := range s.sessions {
		if !now.Before(v.expires) {
			delete(s.sessions, k)
		}
	}
	s.sweepGrantsLocked(now)
}
