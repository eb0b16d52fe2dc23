package portal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/usersvc/usersvc/web/portal/session"
)

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// handleLogin starts an authorization code flow (PKCE S256, state, nonce)
// and sends the browser to the provider's sign-in page, or with signup to
// its sign-up page, which takes the same parameters and ends at the same
// callback.
func (s *Server) handleLogin(signup bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		returnTo := boundReturn(r.URL.Query().Get("return_to"))
		sess, err := s.current(w, r)
		if err != nil {
			s.storeDown(w, r, err)
			return
		}
		if sess != nil && sess.User != nil && !signup {
			http.Redirect(w, r, returnTo, http.StatusFound)
			return
		}
		d, err := s.oidc.get(r.Context())
		if err != nil {
			s.providerDown(w, r, sess, err)
			return
		}
		now := s.now()
		login := session.Login{
			State:    randomString(),
			Nonce:    randomString(),
			Verifier: oauth2.GenerateVerifier(),
			ReturnTo: returnTo,
			Started:  now,
		}
		// In the browser, sealed, not in the store: a sign-in started by
		// anyone must cost no write and no memory here.
		if err := s.startLogin(w, r, login); err != nil {
			s.serverError(w, r, err)
			return
		}
		target := d.oauth.AuthCodeURL(login.State, oauth2.S256ChallengeOption(login.Verifier), oidc.Nonce(login.Nonce))
		if signup {
			authURL, err := url.Parse(target)
			if err != nil {
				s.serverError(w, r, fmt.Errorf("parse authorization url: %w", err))
				return
			}
			u := *d.hostedUI
			u.Path += "/signup"
			u.RawQuery = authURL.RawQuery
			target = u.String()
		}
		http.Redirect(w, r, target, http.StatusFound)
	}
}

// idClaims are the ID token claims the portal uses, as Cognito names them.
type idClaims struct {
	Subject       string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified flexBool `json:"email_verified"`
	Username      string   `json:"cognito:username"`
	Groups        []string `json:"cognito:groups"`
	AuthTime      int64    `json:"auth_time"`
}

// flexBool reads a boolean claim sent either as a JSON boolean or, as some
// providers do, as the string "true" or "false".
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		*b = flexBool(x)
	case string:
		*b = x == "true"
	}
	return nil
}

func (c idClaims) user() *session.User {
	u := &session.User{
		Subject:       c.Subject,
		Username:      c.Username,
		Email:         c.Email,
		EmailVerified: bool(c.EmailVerified),
		Groups:        c.Groups,
	}
	if c.AuthTime > 0 {
		u.AuthTime = time.Unix(c.AuthTime, 0).UTC()
	}
	if u.Username == "" {
		u.Username = c.Subject
	}
	return u
}

// handleCallback finishes a sign-in: it consumes the flow named by state
// (so a replayed callback fails), exchanges the code with the PKCE
// verifier, verifies the ID token and its nonce, and replaces the
// browser's session with a new one under a new id.
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	sess, err := s.current(w, r)
	if err != nil {
		s.storeDown(w, r, err)
		return
	}
	login, found := s.takeLogin(w, r, q.Get("state"))
	if !found {
		s.log.WarnContext(ctx, "callback without a matching sign-in flow", "request_id", requestID(ctx), "has_session", sess != nil)
		s.signInFailed(w, r, sess, http.StatusBadRequest, "This sign-in link has expired or was already used.")
		return
	}
	if e := q.Get("error"); e != "" {
		s.log.WarnContext(ctx, "provider refused sign-in", "request_id", requestID(ctx), "error_code", e)
		s.signInFailed(w, r, sess, http.StatusBadRequest, "The sign-in was cancelled or refused.")
		return
	}
	code := q.Get("code")
	if code == "" {
		s.signInFailed(w, r, sess, http.StatusBadRequest, "The sign-in link is incomplete.")
		return
	}
	d, err := s.oidc.get(ctx)
	if err != nil {
		s.providerDown(w, r, sess, err)
		return
	}
	pctx := s.oidc.clientContext(ctx)
	tok, err := d.oauth.Exchange(pctx, code, oauth2.VerifierOption(login.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			s.log.WarnContext(ctx, "code exchange refused", "request_id", requestID(ctx), "error_code", re.ErrorCode, "status", re.Response.StatusCode)
			s.signInFailed(w, r, sess, http.StatusBadRequest, "The sign-in could not be completed.")
			return
		}
		s.providerDown(w, r, sess, fmt.Errorf("exchange code: %w", err))
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		s.log.ErrorContext(ctx, "token response has no id token", "request_id", requestID(ctx))
		s.signInFailed(w, r, sess, http.StatusBadGateway, "The sign-in service answered without an ID token.")
		return
	}
	idt, err := d.verifier.Verify(pctx, rawID)
	if err != nil {
		s.log.ErrorContext(ctx, "id token rejected", "request_id", requestID(ctx), "error", err)
		s.signInFailed(w, r, sess, http.StatusBadGateway, "The sign-in service's answer could not be verified.")
		return
	}
	if idt.Nonce != login.Nonce {
		s.log.WarnContext(ctx, "id token nonce mismatch", "request_id", requestID(ctx))
		s.signInFailed(w, r, sess, http.StatusBadRequest, "The sign-in could not be completed.")
		return
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		s.log.ErrorContext(ctx, "decode id token claims", "request_id", requestID(ctx), "error", err)
		s.signInFailed(w, r, sess, http.StatusBadGateway, "The sign-in service's answer could not be read.")
		return
	}
	now := s.now()
	user := claims.user()
	next := &session.Session{
		Created: now,
		Seen:    now,
		User:    user,
		Tokens: &session.Tokens{
			AccessToken:  tok.AccessToken,
			RefreshToken: tok.RefreshToken,
			IDToken:      rawID,
			Expiry:       s.expiry(tok),
		},
		Flash: "Signed in as " + displayName(user) + ".",
	}
	next.Expires = expiry(next)
	oldID := ""
	if sess != nil {
		oldID = sess.ID // a signed-in user who signed in again, say
	}
	if err := s.sessions.Rotate(ctx, oldID, next); err != nil {
		s.abandonSignIn(w, r, sess, next, fmt.Errorf("store new session: %w", err))
		return
	}
	s.setSessionCookie(w, next.ID)
	s.log.InfoContext(ctx, "signed in", "request_id", requestID(ctx), "sub", user.Subject)
	http.Redirect(w, r, login.ReturnTo, http.StatusSeeOther)
	if sess != nil {
		// Its session is gone, so nothing would ever revoke it: after the
		// answer, and even if the browser has already gone.
		s.revokeSession(context.WithoutCancel(ctx), sess)
	}
}

// abandonSignIn answers a callback whose new session could not be stored.
// Where Rotate is two requests (DynamoDB: delete, then create), a failure
// of the second has already ended the old session, so every store is left
// alike: the old session deleted (if the store answers) and its refresh
// token revoked, the new tokens revoked (no session holds them, and a
// refresh token would stay valid at the provider for its whole lifetime),
// the cookie cleared, and the page says the browser is signed out. The
// revocations outlive the request: a client that went away must not leave
// live tokens behind.
func (s *Server) abandonSignIn(w http.ResponseWriter, r *http.Request, old, next *session.Session, err error) {
	ctx := context.WithoutCancel(r.Context())
	s.revokeSession(ctx, next)
	if old != nil {
		if derr := s.sessions.Delete(ctx, old.ID); derr != nil {
			// Unreachable from now on (the cookie goes): the sweep or the
			// TTL removes it, and its token's lifetime bounds the rest.
			s.log.WarnContext(ctx, "delete the session a failed sign-in replaced", "request_id", requestID(ctx), "error", derr)
		} else {
			s.revokeSession(ctx, old)
		}
	}
	s.clearSessionCookie(w)
	s.storeFailed(w, r, err, signInLostMessage)
}

// expiry is when tok's access token expires by the portal's clock.
func (s *Server) expiry(tok *oauth2.Token) time.Time {
	if tok.ExpiresIn > 0 {
		return s.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return tok.Expiry
}

func displayName(u *session.User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.Username
}

// handleLogout ends the portal session, revokes its refresh token, and
// sends the browser through the provider's /logout so that the provider's
// own session ends as well; the provider sends it back to the home page.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, err := s.current(w, r)
	if err != nil {
		s.storeDown(w, r, err)
		return
	}
	if sess == nil || sess.User == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err := s.sessions.Delete(ctx, sess.ID); err != nil {
		s.storeDown(w, r, fmt.Errorf("delete session: %w", err))
		return
	}
	s.clearSessionCookie(w)
	s.log.InfoContext(ctx, "signed out", "request_id", requestID(ctx), "sub", sess.User.Subject)
	s.setFlash(w, r, nil, "You have signed out.")
	d, err := s.oidc.get(ctx)
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if sess.Tokens != nil && sess.Tokens.RefreshToken != "" {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.oidc.revoke(rctx, d, sess.Tokens.RefreshToken)
		cancel()
		if err != nil {
			s.log.WarnContext(ctx, "revoke refresh token", "request_id", requestID(ctx), "error", err)
		}
	}
	u := *d.hostedUI
	u.Path += "/logout"
	u.RawQuery = url.Values{"client_id": {s.cfg.ClientID}, "logout_uri": {s.base.String() + "/"}}.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// errSignedOut: the session can no longer get tokens (refresh token
// expired or revoked, or the refreshed ID token is not valid for this
// session's user); the user must sign in again.
var errSignedOut = errors.New("session can no longer be refreshed")

// fresh returns the session with an access token valid for at least
// refreshMargin, using the refresh token when needed. errSignedOut means
// the user must sign in again; other errors mean the provider is down.
func (s *Server) fresh(ctx context.Context, sess *session.Session) (*session.Session, error) {
	t := sess.Tokens
	if t == nil {
		return nil, errSignedOut
	}
	if t.Expiry.Sub(s.now()) > refreshMargin {
		return sess, nil
	}
	if t.RefreshToken == "" {
		return nil, errSignedOut
	}
	d, err := s.oidc.get(ctx)
	if err != nil {
		return nil, err
	}
	pctx := s.oidc.clientContext(ctx)
	// An empty access token makes the source refresh at once.
	tok, err := d.oauth.TokenSource(pctx, &oauth2.Token{RefreshToken: t.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			s.log.InfoContext(ctx, "refresh refused", "request_id", requestID(ctx), "error_code", re.ErrorCode)
			return nil, errSignedOut
		}
		return nil, fmt.Errorf("%w: refresh: %v", errProviderDown, err)
	}
	var user *session.User
	rawID, _ := tok.Extra("id_token").(string)
	if rawID != "" {
		// The verifier checks signature, iss, aud and expiry. A token that
		// fails, or names someone else (OpenID Connect Core 12.2: its sub
		// must be the session's), ends the session rather than pass for
		// an outage: nothing trustworthy is left to continue it with.
		idt, err := d.verifier.Verify(pctx, rawID)
		if err != nil {
			s.log.WarnContext(ctx, "refreshed id token rejected", "request_id", requestID(ctx), "error", err)
			return nil, errSignedOut
		}
		var claims idClaims
		if err := idt.Claims(&claims); err != nil {
			s.log.WarnContext(ctx, "decode refreshed id token", "request_id", requestID(ctx), "error", err)
			return nil, errSignedOut
		}
		if sess.User == nil || claims.Subject != sess.User.Subject {
			s.log.WarnContext(ctx, "refreshed id token names another subject", "request_id", requestID(ctx))
			return nil, errSignedOut
		}
		user = claims.user()
		if user.AuthTime.IsZero() && sess.User != nil {
			user.AuthTime = sess.User.AuthTime
		}
	}
	updated, err := s.sessions.Update(ctx, sess, func(x *session.Session) error {
		x.Tokens = &session.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, IDToken: rawID, Expiry: s.expiry(tok)}
		if rawID == "" {
			x.Tokens.IDToken = t.IDToken
		}
		if user != nil {
			x.User = user
		}
		return nil
	})
	if errors.Is(err, session.ErrNotFound) {
		return nil, errSignedOut // signed out meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("store refreshed tokens: %w", err)
	}
	s.log.InfoContext(ctx, "tokens refreshed", "request_id", requestID(ctx))
	return updated, nil
}

// signedIn returns the signed-in session with fresh tokens, or answers the
// request itself (a redirect to sign in, or an error page) and returns nil.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request) *session.Session {
	sess, err := s.current(w, r)
	if err != nil {
		s.storeDown(w, r, err)
		return nil
	}
	if sess == nil || sess.User == nil {
		s.toSignIn(w, r)
		return nil
	}
	fresh, err := s.fresh(r.Context(), sess)
	switch {
	case errors.Is(err, errSignedOut):
		if derr := s.sessions.Delete(r.Context(), sess.ID); derr != nil {
			s.storeDown(w, r, fmt.Errorf("delete session: %w", derr))
			return nil
		}
		s.clearSessionCookie(w)
		s.toSignIn(w, r)
		return nil
	case errors.Is(err, session.ErrUnavailable):
		s.storeDown(w, r, err)
		return nil
	case err != nil:
		s.providerDown(w, r, sess, err)
		return nil
	}
	return fresh
}

// toSignIn sends the browser to sign in, to come back to this page (or,
// after a form post, to the form).
func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request) {
	back := r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		back = r.URL.Path
	}
	http.Redirect(w, r, "/auth/login?"+url.Values{"return_to": {back}}.Encode(), http.StatusSeeOther)
}
