package portal

import (
	"errors"
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
	name    string // the session's
	pending string // the pending-state id's (sign-ins in progress)
	secure  bool
}

// newCookieSpec picks the cookie's name and flags. Browsers (and Go's
// cookiejar) accept Secure cookies, and so the __Host- prefix, on https
// and on localhost and loopback addresses even over http; elsewhere a plain
// http origin must do without. The "portal-" stem keeps the cookie apart
// from the identity provider's, which shares the jar across ports.
func newCookieSpec(base *url.URL) cookieSpec {
	if base.Scheme == "https" || loopback.IsLocal(base.Hostname()) {
		return cookieSpec{name: "__Host-portal-session", pending: "__Host-portal-pending", secure: true}
	}
	return cookieSpec{name: "portal-session", pending: "portal-pending"}
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
// no live session (tampered, expired, deleted) is cleared. The session's
// last use is recorded, coarsely.
func (s *Server) current(w http.ResponseWriter, r *http.Request) *session.Session {
	c, err := r.Cookie(s.cookie.name)
	if err != nil {
		return nil
	}
	if !session.ValidID(c.Value) {
		s.clearSessionCookie(w)
		return nil
	}
	sess, err := s.sessions.Get(c.Value)
	if err != nil {
		if !errors.Is(err, session.ErrNotFound) {
			s.log.ErrorContext(r.Context(), "load session", "request_id", requestID(r.Context()), "error", err)
		}
		s.clearSessionCookie(w)
		return nil
	}
	now := s.now()
	if !now.Before(sess.Expires) {
		if err := s.sessions.Delete(sess.ID); err != nil {
			s.log.ErrorContext(r.Context(), "delete expired session", "request_id", requestID(r.Context()), "error", err)
		}
		s.clearSessionCookie(w)
		return nil
	}
	if now.Sub(sess.Seen) >= seenGranularity {
		updated, err := s.sessions.Update(sess.ID, func(x *session.Session) error {
			x.Seen = now
			x.Expires = expiry(x)
			return nil
		})
		if err == nil {
			sess = updated
		}
	}
	return sess
}

// setFlash leaves a message for the next page the browser shows: in its
// session, or, without one, in memory (see pending), so that a message for
// a browser that is not signed in costs no session on disk.
func (s *Server) setFlash(w http.ResponseWriter, r *http.Request, sess *session.Session, msg string) {
	if sess == nil {
		s.pending.setFlash(s.ensurePendingID(w, r), msg, s.now())
		return
	}
	if _, err := s.sessions.Update(sess.ID, func(x *session.Session) error { x.Flash = msg; return nil }); err != nil {
		s.log.ErrorContext(r.Context(), "set flash", "request_id", requestID(r.Context()), "error", err)
	}
}

// takeFlash returns the browser's flash message and forgets it.
func (s *Server) takeFlash(r *http.Request, sess *session.Session) string {
	if sess == nil {
		if id := s.pendingID(r); id != "" {
			return s.pending.takeFlash(id, s.now())
		}
		return ""
	}
	if sess.Flash == "" {
		return ""
	}
	msg := sess.Flash
	if _, err := s.sessions.Update(sess.ID, func(x *session.Session) error { x.Flash = ""; return nil }); err != nil {
		s.log.ErrorContext(r.Context(), "clear flash", "request_id", requestID(r.Context()), "error", err)
	}
	return msg
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
