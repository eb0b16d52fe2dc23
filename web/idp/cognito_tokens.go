package idp

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/usersvc/usersvc/web/idp/keys"
	"github.com/usersvc/usersvc/web/idp/users"
)

// adminScope is the scope of access tokens from the JSON API's sign-in
// flows, the one its token operations require.
const adminScope = "aws.cognito.signin.user.admin"

// authResult is Cognito's AuthenticationResultType.
type authResult struct {
	AccessToken  string `json:"AccessToken"`
	ExpiresIn    int32  `json:"ExpiresIn"`
	IdToken      string `json:"IdToken"`
	RefreshToken string `json:"RefreshToken,omitempty"`
	TokenType    string `json:"TokenType"`
}

// signInResult is InitiateAuth's and RespondToAuthChallenge's answer.
type signInResult struct {
	AuthenticationResult *authResult       `json:"AuthenticationResult,omitempty"`
	ChallengeName        string            `json:"ChallengeName,omitempty"`
	ChallengeParameters  map[string]string `json:"ChallengeParameters"`
	Session              string            `json:"Session,omitempty"`
}

// issueTokens signs the tokens of a new API sign-in: access (with
// adminScope), ID and a refresh token of a new family, with the client's
// lifetimes, the Hosted UI's keys and claims.
func (s *Server) issueTokens(ctx context.Context, c *client, u users.User) (*authResult, error) {
	now := s.now()
	originJTI, eventID := newUUID(), newUUID()
	res, err := s.signAPITokens(c, u, adminScope, now, eventID, originJTI, now)
	if err != nil {
		return nil, err
	}
	refresh := newSecret()
	err = s.users.SaveRefresh(ctx, refresh, users.Refresh{
		Sub: u.Sub, ClientID: c.ClientId, Scope: adminScope, AuthTime: now,
		OriginJTI: originJTI, EventID: eventID, Expires: now.Add(c.ttl.refresh),
	})
	if err != nil {
		return nil, err
	}
	res.RefreshToken = refresh
	return res, nil
}

// signAPITokens signs an access and an ID token (the API always returns
// both, whatever the scope).
func (s *Server) signAPITokens(c *client, u users.User, scope string, authTime time.Time, eventID, originJTI string, now time.Time) (*authResult, error) {
	ac, ic := s.claims(c, u, scope, authTime, eventID, originJTI, now)
	access, err := s.sign(keys.UseAccess, ac)
	if err != nil {
		return nil, err
	}
	id, err := s.sign(keys.UseID, ic)
	if err != nil {
		return nil, err
	}
	return &authResult{AccessToken: access, IdToken: id, ExpiresIn: int32(c.ttl.access / time.Second), TokenType: "Bearer"}, nil
}

// refreshTokens is REFRESH_TOKEN_AUTH: new access and ID tokens of the
// same sign-in, no new refresh token (Cognito without rotation).
func (s *Server) refreshTokens(ctx context.Context, c *client, token string) (*authResult, users.User, error) {
	invalid := apiErr(excNotAuthorized, "Invalid Refresh Token")
	ref, err := s.users.LookupRefresh(ctx, token)
	if errors.Is(err, users.ErrBadCode) {
		return nil, users.User{}, invalid
	}
	if err != nil {
		return nil, users.User{}, err
	}
	if ref.ClientID != c.ClientId {
		return nil, users.User{}, invalid
	}
	u, err := s.users.Get(ctx, ref.Sub)
	if errors.Is(err, users.ErrNotFound) {
		return nil, users.User{}, invalid
	}
	if err != nil {
		return nil, users.User{}, err
	}
	if u.Disabled {
		return nil, users.User{}, apiErr(excNotAuthorized, "User is disabled.")
	}
	if !u.Active() {
		return nil, users.User{}, invalid
	}
	res, err := s.signAPITokens(c, u, ref.Scope, ref.AuthTime, ref.EventID, ref.OriginJTI, s.now())
	return res, u, err
}

// accessUser checks an access token given to a token operation (GetUser,
// ChangePassword, ...): issued here, for this pool, unexpired, with
// adminScope, its family not revoked, its account still there and enabled.
func (s *Server) accessUser(ctx context.Context, token string) (accessClaims, users.User, error) {
	if err := required("AccessToken", token); err != nil {
		return accessClaims{}, users.User{}, err
	}
	c, err := s.verified.verify(s, token)
	if err != nil {
		return c, users.User{}, apiErr(excNotAuthorized, "Invalid Access Token")
	}
	if s.now().Unix() >= c.Exp {
		return c, users.User{}, apiErr(excNotAuthorized, "Access Token has expired")
	}
	if !hasScope(c.Scope, adminScope) {
		return c, users.User{}, apiErr(excNotAuthorized, "Access Token does not have required scopes")
	}
	if revoked, err := s.users.Revoked(ctx, c.OriginJTI); err != nil {
		return c, users.User{}, err
	} else if revoked {
		return c, users.User{}, apiErr(excNotAuthorized, "Access Token has been revoked")
	}
	u, err := s.users.Get(ctx, c.Sub)
	if errors.Is(err, users.ErrNotFound) {
		return c, users.User{}, apiErr(excNotAuthorized, "Access Token has been revoked")
	}
	if err != nil {
		return c, users.User{}, err
	}
	if u.Disabled {
		return c, users.User{}, apiErr(excNotAuthorized, "User is disabled.")
	}
	return c, u, nil
}

// tokenCache remembers access tokens whose signature was verified, so a
// token presented again costs a hash instead of an RSA verification.
// Expiry, revocation and the account are still checked on every use.
type tokenCache struct {
	mu sync.Mutex
	m  map[[32]byte]accessClaims
}

const tokenCacheCap = 10000

func newTokenCache() *tokenCache { return &tokenCache{m: map[[32]byte]accessClaims{}} }

func (tc *tokenCache) verify(s *Server, token string) (accessClaims, error) {
	k := key(token)
	tc.mu.Lock()
	c, ok := tc.m[k]
	tc.mu.Unlock()
	if ok {
		return c, nil
	}
	// Expiry is the caller's to judge (to say "expired" rather than
	// "invalid"), so the signature is checked at the start of time.
	c, err := s.verifyAccess(token, time.Unix(0, 0))
	if err != nil {
		return c, err
	}
	tc.mu.Lock()
	if len(tc.m) >= tokenCacheCap {
		now := s.now().Unix()
		for k, v := range tc.m {
			if now >= v.Exp {
				delete(tc.m, k)
			}
		}
		if len(tc.m) >= tokenCacheCap {
			clear(tc.m)
		}
	}
	tc.m[k] = c
	tc.mu.Unlock()
	return c, nil
}

// challenge is a sign-in in progress between InitiateAuth and
// RespondToAuthChallenge: an SRP exchange or a NEW_PASSWORD_REQUIRED.
type challenge struct {
	name     string // PASSWORD_VERIFIER or NEW_PASSWORD_REQUIRED
	sub      string
	clientID string
	admin    bool // began with AdminInitiateAuth
	expires  time.Time
	srp      srpState
	stamp    []byte // NEW_PASSWORD_REQUIRED: the password it was issued for (users.PasswordStamp)
}

// challengeTTL is how long a challenge can be answered (Cognito: 3 minutes).
const challengeTTL = 3 * time.Minute

// maxChallenges bounds the sign-ins in progress held in memory.
const maxChallenges = 10000

// challenges holds sign-ins in progress by the digest of their opaque
// handle (Session or SECRET_BLOCK). Each is answered at most once.
type challenges struct {
	mu sync.Mutex
	m  map[[32]byte]*challenge
}

func newChallenges() *challenges { return &challenges{m: map[[32]byte]*challenge{}} }

// add stores ch and returns its handle, or "" when too many are pending.
func (cs *challenges) add(ch *challenge, now time.Time) string {
	h := newSecret()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.m) >= maxChallenges {
		for k, v := range cs.m {
			if !now.Before(v.expires) {
				delete(cs.m, k)
			}
		}
		if len(cs.m) >= maxChallenges {
			return ""
		}
	}
	cs.m[key(h)] = ch
	return h
}

// peek returns the live challenge with this handle and leaves it in place:
// an answer is checked before it spends the challenge, so that a refused
// answer (a weak password) can be corrected with the same Session.
func (cs *challenges) peek(handle string, now time.Time) (*challenge, bool) {
	if handle == "" || len(handle) > 4096 {
		return nil, false
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	ch, ok := cs.m[key(handle)]
	if !ok || !now.Before(ch.expires) {
		return nil, false
	}
	return ch, true
}

// restore puts back a challenge take removed, when what its answer was
// to do failed for a reason of the server's (a retry may succeed).
func (cs *challenges) restore(handle string, ch *challenge) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.m[key(handle)] = ch
}

// take removes and returns the live challenge with this handle.
func (cs *challenges) take(handle string, now time.Time) (*challenge, bool) {
	if handle == "" || len(handle) > 4096 {
		return nil, false
	}
	k := key(handle)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	ch, ok := cs.m[k]
	delete(cs.m, k)
	if !ok || !now.Before(ch.expires) {
		return nil, false
	}
	return ch, true
}
