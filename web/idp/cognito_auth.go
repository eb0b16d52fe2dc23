package idp

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"

	"github.com/usersvc/usersvc/web/idp/users"
)

// InitiateAuth and RespondToAuthChallenge, and their Admin forms: the
// JSON API's sign-in flows.

type initiateAuthIn struct {
	analytics
	AuthFlow       string
	ClientId       string
	AuthParameters map[string]string
	Session        string
}

type adminInitiateAuthIn struct {
	initiateAuthIn
	UserPoolId  string
	ContextData json.RawMessage
}

type respondIn struct {
	analytics
	ChallengeName      string
	ClientId           string
	ChallengeResponses map[string]string
	Session            string
}

type adminRespondIn struct {
	respondIn
	UserPoolId  string
	ContextData json.RawMessage
}

// flowNames maps an AuthFlow to the ExplicitAuthFlows entry allowing it.
var flowNames = map[string]string{
	"USER_SRP_AUTH":            FlowUserSRP,
	"USER_PASSWORD_AUTH":       FlowUserPassword,
	"REFRESH_TOKEN_AUTH":       FlowRefreshToken,
	"REFRESH_TOKEN":            FlowRefreshToken,
	"ADMIN_USER_PASSWORD_AUTH": FlowAdminPassword,
	"ADMIN_NO_SRP_AUTH":        FlowAdminPassword,
}

func (s *Server) apiInitiateAuth(ctx context.Context, in *initiateAuthIn) (any, error) {
	return s.initiateAuth(ctx, in, false)
}

func (s *Server) apiAdminInitiateAuth(ctx context.Context, in *adminInitiateAuthIn) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	return s.initiateAuth(ctx, &in.initiateAuthIn, true)
}

func (s *Server) initiateAuth(ctx context.Context, in *initiateAuthIn, admin bool) (any, error) {
	if err := required("AuthFlow", in.AuthFlow); err != nil {
		return nil, err
	}
	c, err := s.apiClient(in.ClientId)
	if err != nil {
		return nil, err
	}
	allowing, known := flowNames[in.AuthFlow]
	adminFlow := in.AuthFlow == "ADMIN_USER_PASSWORD_AUTH" || in.AuthFlow == "ADMIN_NO_SRP_AUTH"
	// Admin flows only with credentials; USER_PASSWORD_AUTH only without
	// (its admin form is ADMIN_USER_PASSWORD_AUTH); SRP and refresh both.
	if !known || adminFlow && !admin || in.AuthFlow == "USER_PASSWORD_AUTH" && admin {
		return nil, apiErr(excInvalidParameter, "Initiate Auth method not supported.")
	}
	if !c.allows(allowing) {
		return nil, apiErr(excInvalidParameter, "%s flow not enabled for this client", in.AuthFlow)
	}
	p := in.AuthParameters
	switch allowing {
	case FlowRefreshToken:
		if err := required("AuthParameters.REFRESH_TOKEN", p["REFRESH_TOKEN"]); err != nil {
			return nil, err
		}
		res, u, err := s.refreshTokens(ctx, c, p["REFRESH_TOKEN"])
		if err != nil {
			return nil, err
		}
		if err := checkSecretHash(c, p["SECRET_HASH"], u.Sub, u.Email, p["USERNAME"]); err != nil {
			return nil, err
		}
		return signInResult{AuthenticationResult: res, ChallengeParameters: map[string]string{}}, nil
	case FlowUserSRP:
		return s.startSRP(ctx, c, p, admin)
	}
	// USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH.
	name := p["USERNAME"]
	if err := required("USERNAME", name); err != nil {
		return nil, err
	}
	if err := required("PASSWORD", p["PASSWORD"]); err != nil {
		return nil, err
	}
	if err := checkSecretHash(c, p["SECRET_HASH"], name); err != nil {
		return nil, err
	}
	u, err := s.checkPasswordAPI(ctx, c, name, p["PASSWORD"])
	if err != nil {
		return nil, err
	}
	return s.signedIn(ctx, c, u, admin)
}

// checkPasswordAPI checks a username and password under the Hosted UI's
// lockout, and answers in Cognito's words.
func (s *Server) checkPasswordAPI(ctx context.Context, c *client, name, password string) (users.User, error) {
	if err := s.hashAllowed(ctx); err != nil {
		return users.User{}, err
	}
	u, err := s.users.Lookup(ctx, name)
	if err != nil && !errors.Is(err, users.ErrNotFound) {
		// The store failed: nothing was tried, so nothing is counted.
		return users.User{}, err
	}
	lk := accountLockoutKey(name, u, err)
	if ok, _ := s.lockout.beginFrom(lk, clientOf(ctx)); !ok {
		return users.User{}, apiErr(excNotAuthorized, "Password attempts exceeded")
	}
	if errors.Is(err, users.ErrNotFound) {
		// The same hashing work as for an account, busy alike, then the
		// answer.
		if _, herr := s.users.CheckPasswordOf(ctx, "", password); errors.Is(herr, users.ErrBusy) {
			err = herr
		} else if !c.preventsExistenceErrors() {
			return users.User{}, apiErr(excUserNotFound, "User does not exist.")
		}
	} else {
		var ok bool
		if ok, err = s.users.CheckPasswordOf(ctx, u.Sub, password); err == nil && !ok {
			err = users.ErrBadCredentials
		}
	}
	if errors.Is(err, users.ErrBusy) {
		s.lockout.undo(lk, clientOf(ctx)) // nothing was checked
		return users.User{}, err
	}
	if errors.Is(err, users.ErrBadCredentials) || errors.Is(err, users.ErrNotFound) {
		if locked, _ := s.lockout.lockedFrom(lk, clientOf(ctx)); locked {
			return users.User{}, apiErr(excNotAuthorized, "Password attempts exceeded")
		}
		return users.User{}, apiErr(excNotAuthorized, "Incorrect username or password.")
	}
	if err != nil {
		return users.User{}, err
	}
	s.lockout.succeedFrom(lk, clientOf(ctx))
	return u, nil
}

// signedIn is what a sign-in with the right password gets, by the
// account's state: tokens, a NEW_PASSWORD_REQUIRED challenge, or a refusal.
func (s *Server) signedIn(ctx context.Context, c *client, u users.User, admin bool) (any, error) {
	switch {
	case u.Disabled:
		return nil, apiErr(excNotAuthorized, "User is disabled.")
	case u.Status == users.Unconfirmed:
		return nil, apiErr(excUserNotConfirmed, "User is not confirmed.")
	case u.Status == users.ResetRequired:
		return nil, apiErr(excPasswordReset, "Password reset required for the user")
	case u.Status == users.ForceChangePassword:
		// Bound to the temporary password it was answered with: a new
		// one (AdminCreateUser RESEND, AdminSetUserPassword) voids it.
		stamp, err := s.users.PasswordStamp(ctx, u.Sub)
		if err != nil {
			return nil, err
		}
		handle := s.challenges.add(&challenge{
			name: "NEW_PASSWORD_REQUIRED", sub: u.Sub, clientID: c.ClientId, admin: admin,
			expires: s.now().Add(challengeTTL), stamp: stamp,
		}, s.now())
		if handle == "" {
			return nil, apiErr(excTooManyRequests, "Too many sign-ins in progress; try again shortly.")
		}
		attrs := map[string]string{"email": u.Email, "email_verified": boolString(u.EmailVerified)}
		for k, v := range u.Attributes {
			attrs[k] = v
		}
		ab, _ := json.Marshal(attrs)
		return signInResult{ChallengeName: "NEW_PASSWORD_REQUIRED", Session: handle, ChallengeParameters: map[string]string{
			"USER_ID_FOR_SRP": u.Sub, "requiredAttributes": "[]", "userAttributes": string(ab),
		}}, nil
	}
	res, err := s.issueTokens(ctx, c, u)
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "signed in", "sub", u.Sub, "client_id", c.ClientId, "via", "api")
	return signInResult{AuthenticationResult: res, ChallengeParameters: map[string]string{}}, nil
}

func (s *Server) apiRespondToAuthChallenge(ctx context.Context, in *respondIn) (any, error) {
	return s.respond(ctx, in, false)
}

func (s *Server) apiAdminRespondToAuthChallenge(ctx context.Context, in *adminRespondIn) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	return s.respond(ctx, &in.respondIn, true)
}

func (s *Server) respond(ctx context.Context, in *respondIn, admin bool) (any, error) {
	if err := required("ChallengeName", in.ChallengeName); err != nil {
		return nil, err
	}
	c, err := s.apiClient(in.ClientId)
	if err != nil {
		return nil, err
	}
	r := in.ChallengeResponses
	if err := required("ChallengeResponses.USERNAME", r["USERNAME"]); err != nil {
		return nil, err
	}
	if err := checkSecretHash(c, r["SECRET_HASH"], r["USERNAME"]); err != nil {
		return nil, err
	}
	switch in.ChallengeName {
	case "PASSWORD_VERIFIER":
		return s.finishSRP(ctx, c, r, admin)
	case "NEW_PASSWORD_REQUIRED":
		return s.newPassword(ctx, c, in.Session, r, admin)
	}
	return nil, apiErr(excInvalidParameter, "Unsupported challenge %s", truncate(in.ChallengeName, 64))
}

// newPassword answers NEW_PASSWORD_REQUIRED. Everything is checked before
// the Session is spent, as Cognito keeps it across a refused password; a
// disabled account is refused before anything about it changes.
func (s *Server) newPassword(ctx context.Context, c *client, session string, r map[string]string, admin bool) (any, error) {
	invalid := apiErr(excNotAuthorized, "Invalid session for the user, session is expired.")
	ch, ok := s.challenges.peek(session, s.now())
	if !ok || ch.name != "NEW_PASSWORD_REQUIRED" || ch.clientID != c.ClientId || ch.admin != admin {
		return nil, invalid
	}
	u, err := s.users.Lookup(ctx, r["USERNAME"])
	if err != nil || u.Sub != ch.sub {
		return nil, apiErr(excNotAuthorized, "Invalid session for the user.")
	}
	if u.Disabled {
		return nil, apiErr(excNotAuthorized, "User is disabled.")
	}
	stamp, err := s.users.PasswordStamp(ctx, u.Sub)
	if err != nil {
		return nil, err
	}
	if u.Status != users.ForceChangePassword || !hmac.Equal(stamp, ch.stamp) {
		// Answered already, or the temporary password was replaced.
		return nil, apiErr(excNotAuthorized, "Invalid session for the user.")
	}
	if err := required("ChallengeResponses.NEW_PASSWORD", r["NEW_PASSWORD"]); err != nil {
		return nil, err
	}
	if err := passwordPolicy(r["NEW_PASSWORD"]); err != nil {
		return nil, err
	}
	var attrs map[string]string
	var list []attribute
	for k, v := range r {
		if n, ok := cutPrefix(k, "userAttributes."); ok {
			list = append(list, attribute{n, v})
		}
	}
	if len(list) > 0 {
		if attrs, err = userAttributes(list, false); err != nil {
			return nil, err
		}
	}
	if err := s.hashAllowed(ctx); err != nil {
		return nil, err
	}
	// Now spend it: of two answers racing past the checks, one wins.
	if _, ok := s.challenges.take(session, s.now()); !ok {
		return nil, invalid
	}
	if len(attrs) > 0 {
		if _, err := s.updateOwnAttributes(ctx, u, attrs); err != nil {
			// The password is unchanged (a pending email may have been
			// recorded and mailed; a retry mails a new code), so the
			// challenge may be answered again.
			s.challenges.restore(session, ch)
			return nil, err
		}
	}
	if err := s.users.SetPassword(ctx, u.Sub, r["NEW_PASSWORD"], users.Confirmed); err != nil {
		s.challenges.restore(session, ch) // the password did not change
		return nil, err
	}
	// An error here comes after the change: see endAccountSessions.
	if err := s.endAccountSessions(ctx, u.Sub); err != nil {
		return nil, err
	}
	if u, err = s.users.Get(ctx, u.Sub); err != nil {
		return nil, err
	}
	return s.signedIn(ctx, c, u, admin)
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}
