// Package portal is the web portal: the OIDC relying party of the user
// pool (Cognito in AWS, web/idp offline) and a set of server-rendered pages
// that create and look up users through the HTTP API with the signed-in
// user's access token.
//
// Tokens never reach the browser: they live in a server-side session
// (Sessions: bbolt in package session, DynamoDB in session/dynamo) named by
// an opaque random id in an HttpOnly cookie. No instance holds state a
// request depends on, so any number of them (Lambda functions, see
// packages lambdahttp and function) can serve one browser: what a browser
// needs before it has a session (its sign-ins in progress, a flash message
// after sign-out) travels in its own cookies, sealed with AES-GCM under a
// key every instance shares (Config.StateKey, or HKDF of the client
// secret), and costs neither memory nor a store write here.
// Pages are templ components (package pages) styled by the embedded
// stylesheet (package static); no page needs JavaScript.
//
// Pages (see routes.go):
//
//	GET  /                  Home: Sign in and Sign up, or who is signed in
//	GET  /profile           the verified claims: email, username, groups, expiry
//	GET  /user/new          Create user: "User ID", attribute rows, "Attributes" JSON
//	POST /user/new          create it (the API's 400/409/413 shown by the form)
//	GET  /user?UserId=      Look up: the item as a table, or "not found"
//	GET  /admin/users       Users (group admins): the listing, Next and Previous;
//	                        ?createdBy=SUB lists the items one account created
//	GET  /auth/login        sign in at the provider (?return_to=/local/path)
//	GET  /auth/signup       sign up at the provider's /signup
//	GET  /auth/callback     the registered redirect URI
//	POST /auth/logout       sign out here, revoke, and at the provider's /logout
//
// The app client must have URL+"/auth/callback" as a callback URL and
// URL+"/" as a sign-out URL.
package portal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/client"
	"github.com/usersvc/usersvc/web/portal/admin"
	"github.com/usersvc/usersvc/web/portal/session"
)

// Users is the part of the HTTP API the portal uses; *client.Client
// provides it. token is the signed-in user's access token.
type Users interface {
	GetUser(ctx context.Context, token, id string) (api.Item, error)
	CreateUser(ctx context.Context, token string, item api.Item) (api.Item, error)
	ListUsers(ctx context.Context, token string, q client.ListQuery) (client.Page, error)
}

var _ Users = (*client.Client)(nil)

// Sessions keeps the portal's sessions; *session.Store (bbolt, for one
// process) and *dynamo.Store of package session/dynamo (DynamoDB, shared
// by every instance) provide it, and package session/sessiontest is the
// contract they keep. Get returns sessions past their Expires too; the
// portal treats those as absent. Errors wrapping session.ErrUnavailable
// become the 503 page.
type Sessions interface {
	// Get returns the session with id, or an error wrapping
	// session.ErrNotFound.
	Get(ctx context.Context, id string) (*session.Session, error)
	// Create stores sess under a fresh id, which it sets; it never
	// overwrites.
	Create(ctx context.Context, sess *session.Session) error
	// Update applies fn to the stored state of the session sess was read
	// from and stores the result, which it returns; fn may run more than
	// once. A session deleted or rotated away meanwhile is ErrNotFound,
	// never brought back. A store that retries after a lost race writes
	// nothing when fn, run on the fresh state, changes nothing.
	Update(ctx context.Context, sess *session.Session, fn func(*session.Session) error) (*session.Session, error)
	// Rotate deletes the session oldID (if not "") and stores sess under
	// a fresh id, which it sets.
	Rotate(ctx context.Context, oldID string, sess *session.Session) error
	// Delete removes the session id; a missing one is not an error.
	Delete(ctx context.Context, id string) error
}

// expiredSweeper is a session store that can delete its expired sessions
// itself (bbolt); a DynamoDB table leaves that to its TTL.
type expiredSweeper interface {
	DeleteExpired(ctx context.Context, now time.Time) ([]*session.Session, error)
}

var _ Sessions = (*session.Store)(nil)
var _ expiredSweeper = (*session.Store)(nil)

// Config is what a portal needs. URL, Issuer, ClientID, Users, Sessions
// and Log are required.
type Config struct {
	// URL is the portal's public base URL, e.g. "http://localhost:8080".
	// The callback is URL + "/auth/callback" and the sign-out return
	// address URL + "/"; both must be registered with the app client.
	URL string
	// Issuer is the OIDC issuer (for Cognito
	// "https://cognito-idp.<region>.amazonaws.com/<pool id>").
	Issuer string
	// ClientID and ClientSecret identify the app client; ClientSecret is
	// empty for a public client.
	ClientID     string
	ClientSecret string
	// HostedUI is the base URL of the provider's sign-up and sign-out
	// pages (Cognito's user pool domain). Empty: the authorization
	// endpoint's origin and path prefix, which is right for Cognito and
	// for web/idp alike.
	HostedUI string
	// Scopes requested at sign-in; default "openid", "email".
	Scopes []string

	// Users is the HTTP API.
	Users Users
	// Sessions keeps the sessions.
	Sessions Sessions
	// Accounts, when set, serves the account screens (admin.Prefix) to
	// admins over Cognito's API; nil leaves them out.
	Accounts admin.Accounts
	// StateKey seals what the portal leaves in the browser before there
	// is a session (sign-ins in progress, a flash message); every
	// instance must share it, and it must be at least 32 random bytes.
	// Empty: derived from ClientSecret with HKDF-SHA256; a public client
	// (no secret) without a StateKey gets a random key of this process,
	// which is right for one process only (NewServer logs a warning).
	StateKey []byte
	// Log receives one line per request and every failure.
	Log *slog.Logger
	// HTTPClient talks to the provider; nil means a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Session lifetimes.
const (
	// IdleTimeout ends a session that has not been used for this long.
	IdleTimeout = 30 * time.Minute
	// AbsoluteTimeout ends any session this long after sign-in.
	AbsoluteTimeout = 8 * time.Hour
	// loginTimeout is how long a started sign-in may take.
	loginTimeout = 10 * time.Minute
	// refreshMargin: the access token is renewed when it has less than
	// this left, so no API call goes out with a token about to expire.
	refreshMargin = 2 * time.Minute
	// seenGranularity: a session's last use is recorded at most this
	// often, so reading pages does not write to disk on every request.
	seenGranularity = time.Minute
	// pageSize is the Users page's length.
	pageSize = 25
)

// Server is the portal. It is an http.Handler and safe for concurrent use.
type Server struct {
	cfg      Config
	base     *url.URL
	log      *slog.Logger
	users    Users
	sessions Sessions
	now      func() time.Time
	oidc     *provider
	cookie   cookieSpec
	seal     *sealer
	handler  http.Handler
}

// NewServer checks cfg and returns the portal. It does not contact the
// provider: discovery happens on first need and is retried until it
// succeeds, so the portal may start before the provider is up.
func NewServer(cfg Config) (*Server, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.Path != "" {
		return nil, fmt.Errorf("portal url %q: want an http or https origin such as http://localhost:8080", cfg.URL)
	}
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("no issuer configured")
	case cfg.ClientID == "":
		return nil, errors.New("no client id configured")
	case cfg.Users == nil:
		return nil, errors.New("no api client configured")
	case cfg.Sessions == nil:
		return nil, errors.New("no session store configured")
	case cfg.Log == nil:
		return nil, errors.New("no logger configured")
	}
	if cfg.HostedUI != "" {
		u, err := url.Parse(strings.TrimSuffix(cfg.HostedUI, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("hosted ui url %q: want an absolute http or https url", cfg.HostedUI)
		}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "email"}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key := cfg.StateKey
	switch {
	case len(key) > 0:
	case cfg.ClientSecret != "":
		var err error
		if key, err = deriveStateKey(cfg.ClientID, cfg.ClientSecret); err != nil {
			return nil, fmt.Errorf("derive state key: %w", err)
		}
	default:
		key = []byte(randomString())
		cfg.Log.Warn("no client secret and no state key: sign-ins in progress are sealed with a key of this process only, so they fail on any other instance")
	}
	seal, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		base:     base,
		log:      cfg.Log,
		users:    cfg.Users,
		sessions: cfg.Sessions,
		now:      cfg.Now,
		cookie:   newCookieSpec(base),
		seal:     seal,
	}
	s.oidc = newProvider(cfg, base, cfg.Log)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Warm discovers the provider now rather than on the first sign-in, and
// reports whether it could. Failing is not fatal: the portal retries.
func (s *Server) Warm(ctx context.Context) error {
	_, err := s.oidc.get(ctx)
	return err
}

// SweepSessions deletes expired sessions every interval until ctx ends,
// and revokes their refresh tokens, if the store can list them (bbolt); on
// a store that cannot (DynamoDB, whose TTL deletes them unseen) it returns
// at once, and the refresh token's own lifetime bounds what is left.
func (s *Server) SweepSessions(ctx context.Context, interval time.Duration) {
	sw, ok := s.sessions.(expiredSweeper)
	if !ok {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if gone, err := sw.DeleteExpired(ctx, s.now()); err != nil {
			if ctx.Err() == nil {
				s.log.Error("sweep sessions", "error", err)
			}
		} else if len(gone) > 0 {
			for _, sess := range gone {
				s.revokeSession(ctx, sess)
			}
			s.log.Info("swept expired sessions", "count", len(gone))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
