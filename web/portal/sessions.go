package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/usersvc/usersvc/web/loopback"
	"github.com/usersvc/usersvc/web/portal/session"
)

// cookieSpec is how the session cookie is named and flagged for the
// portal's origin.
type cookieSpec struct {
	name   string // the session's
	login  string // the prefix of each sign-in in progress's
	flash  string // a flash message's, for a browser without a session
	secure bool
}

// newCookieSpec picks the cookie's name and flags. Browsers (and Go's
// cookiejar) accept Secure cookies, and so the __Host- prefix, on https
// and on localhost and loopback addresses even over http; elsewhere a plain
// http origin must do without. The "portal-" stem keeps the cookie apart
// from the identity provider's, which shares the jar across ports.
func newCookieSpec(base *url.URL) cookieSpec {
	if base.Scheme == "https" || loopback.IsLocal(base.Hostname()) {
		return cookieSpec{name: "__Host-portal-session", login: "__Host-portal-login-", flash: "__Host-portal-flash", secure: true}
	}
	return cookieSpec{name: "portal-session", login: "portal-login-", flash: "portal-flash"}
}

func (s *Server) setSessionCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie.name,
		Value:    id,
		Path:     "/",
		Secure:   s.cookie.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie.name,
		Value:    "",
		Path:     "/",
		Secure:   s.cookie.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		MaxAge:   -1,
	})
}

// expiry is when a session ends unless used again: 30 minutes after its
// last use, and never later than 8 hours after it began.
func expiry(sess *session.Session) time.Time {
	idle := sess.Seen.Add(IdleTimeout)
	abs := sess.Created.Add(AbsoluteTimeout)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// current returns the browser's live session, or nil. A cookie that names
// no live session (tampered, expired, deleted, another deployment's) is
// cleared; an expired session is deleted and its refresh token revoked.
// The session's last use is recorded, at most once a minute, so reading
// pages mostly writes nothing. An error means the store failed: the
// caller answers with storeDown.
func (s *Server) current(w http.ResponseWriter, r *http.Request) (*session.Session, error) {
	c, err := r.Cookie(s.cookie.name)
	if err != nil {
		return nil, nil
	}
	if !session.ValidID(c.Value) {
		s.clearSessionCookie(w)
		return nil, nil
	}
	ctx := r.Context()
	sess, err := s.sessions.Get(ctx, c.Value)
	switch {
	case errors.Is(err, session.ErrNotFound):
		s.clearSessionCookie(w)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("load session: %w", err)
	}
	now := s.now()
	if sess.Expired(now) {
		if err := s.sessions.Delete(ctx, sess.ID); err != nil {
			return nil, fmt.Errorf("delete expired session: %w", err)
		}
		s.revokeSession(ctx, sess)
		s.clearSessionCookie(w)
		return nil, nil
	}
	if now.Sub(sess.Seen) >= seenGranularity {
		updated, err := s.sessions.Update(ctx, sess, func(x *session.Session) error {
			// Asked again on the stored state after a lost race: another
			// page view of this browser may have recorded this minute.
			if now.Sub(x.Seen) < seenGranularity {
				return nil
			}
			x.Seen = now
			x.Expires = expiry(x)
			return nil
		})
		switch {
		case err == nil:
			sess = updated
		case errors.Is(err, session.ErrNotFound): // signed out meanwhile
			s.clearSessionCookie(w)
			return nil, nil
		default:
			s.log.WarnContext(ctx, "record session use", "request_id", requestID(ctx), "error", err)
		}
	}
	return sess, nil
}

// revokeSession revokes the refresh token of a session that has ended
// (expired, swept), so that what it opened ends with it. Failure is
// logged: the token's own lifetime still bounds it.
func (s *Server) revokeSession(ctx context.Context, sess *session.Session) {
	if sess.Tokens == nil || sess.Tokens.RefreshToken == "" {
		return
	}
	d, err := s.oidc.get(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "revoke refresh token of an ended session", "request_id", requestID(ctx), "error", err)
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.oidc.revoke(rctx, d, sess.Tokens.RefreshToken); err != nil {
		s.log.WarnContext(ctx, "revoke refresh token of an ended session", "request_id", requestID(ctx), "error", err)
	}
}

// setFlash leaves a message for the next page the browser shows: in its
// session, or, without one, in a sealed cookie, so that a message for a
// browser that is not signed in costs no write to the store.
func (s *Server) setFlash(w http.ResponseWriter, r *http.Request, sess *session.Session, msg string) *session.Session {
	if sess == nil {
		s.setCookieFlash(w, msg)
		return nil
	}
	updated, err := s.sessions.Update(r.Context(), sess, func(x *session.Session) error { x.Flash = msg; return nil })
	if err != nil {
		s.log.ErrorContext(r.Context(), "set flash", "request_id", requestID(r.Context()), "error", err)
		return sess
	}
	return updated
}

// takeFlash returns the browser's flash message and forgets it.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request, sess *session.Session) string {
	msg := s.takeCookieFlash(w, r)
	if sess == nil || sess.Flash == "" {
		return msg
	}
	var taken string
	_, err := s.sessions.Update(r.Context(), sess, func(x *session.Session) error { taken, x.Flash = x.Flash, ""; return nil })
	if err != nil {
		s.log.ErrorContext(r.Context(), "clear flash", "request_id", requestID(r.Context()), "error", err)
		return msg
	}
	if msg != "" && taken != "" {
		return msg + " " + taken
	}
	return msg + taken
}

// safeReturn accepts only a local absolute path (no scheme, no host, not
// "//" or "/\", which browsers read as another host), so that the return
// address after sign-in can never send the user elsewhere.
func safeReturn(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n\t\x00") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/auth/") {
		return "/"
	}
	// Re-encoding can turn an escaped slash into a real one ("/%2F" becomes
	// "//"), so the result is checked again.
	out := u.RequestURI()
	if strings.HasPrefix(out, "//") || strings.HasPrefix(out, "/\\") {
		return "/"
	}
	return out
}
