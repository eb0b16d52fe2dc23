package idp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"github.com/usersvc/usersvc/web/idp/pages"
	"github.com/usersvc/usersvc/web/idp/users"
	"github.com/usersvc/usersvc/web/requestlog"
)

// csp is the Content-Security-Policy of every page. formAction lists the
// origins a form on the page may end up at: its own, and for the sign-in
// form the client's callback (Chromium applies form-action to the redirect
// that follows the POST).
func csp(formAction ...string) string {
	fa := "'self'"
	for _, o := range formAction {
		fa += " " + o
	}
	return "default-src 'none'; style-src 'self'; img-src 'self'; form-action " + fa +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// render writes a page with the headers every page gets.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component, formAction ...string) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "path", requestlog.Clip(r.URL.Path), "error", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp(formAction...))
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message renders a page that only tells something.
func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, title, text string, links ...pages.Link) {
	s.render(w, r, status, pages.MessagePage(pages.Message{
		Title: title, Text: text, Links: links, Alert: status >= 400,
	}))
}

// badRequest is the error page for requests the provider will not redirect
// (an unknown client or an unregistered redirect URI): sending the browser
// to an unverified URL would make the provider an open redirector.
func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, text string) {
	s.message(w, r, http.StatusBadRequest, "Something went wrong", text)
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds()),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// csrfToken returns the token to put in a form, setting the browser's CSRF
// cookie if it has none. The token is an HMAC of the cookie's value under a
// key only the server knows, so a forger needs both the cookie and the key.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(s.cookies.csrf)
	v := ""
	if err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		v = c.Value
	} else {
		v = newSecret()
		// A session cookie (no Max-Age): it lives as long as the browser.
		http.SetCookie(w, &http.Cookie{
			Name: s.cookies.csrf, Value: v, Path: "/", HttpOnly: true, Secure: s.secure,
			SameSite: http.SameSiteLaxMode,
		})
	}
	return s.csrfMAC(v)
}

func (s *Server) csrfMAC(cookie string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(cookie))
	return b64.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether the form's token matches the CSRF cookie.
func (s *Server) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(s.cookies.csrf)
	if err != nil || c.Value == "" {
		return false
	}
	got := r.PostFormValue(pages.CSRFField)
	return hmac.Equal([]byte(got), []byte(s.csrfMAC(c.Value)))
}

// csrfFailed is the page for a form without a valid CSRF token, or one
// posted from another origin.
func (s *Server) csrfFailed(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, http.StatusForbidden, "Form expired",
		"This form could not be accepted: it expired or was sent from another site. Go back, reload the page and try again.")
}

// crossOrigin wraps the Hosted UI's form handlers: a POST that a browser
// says comes from another origin (Sec-Fetch-Site, or Origin against Host)
// is refused before it is read. localhost:<any port> is the same site as the
// provider, so SameSite cookies alone would not stop such a POST.
func (s *Server) crossOrigin(h http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(s.csrfFailed))
	return p.Handler(h)
}

// sessionFrom returns the browser's live provider session, if any.
func (s *Server) sessionFrom(r *http.Request) (session, bool) {
	c, err := r.Cookie(s.cookies.session)
	if err != nil || c.Value == "" {
		return session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[key(c.Value)]
	if !ok || !s.now().Before(sess.expires) {
		return session{}, false
	}
	return sess, true
}

// startSession signs the browser in, under a new session id (an id set
// before sign-in, by whoever, never becomes a signed-in one).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, sub string, now time.Time) session {
	id := newSecret()
	sess := session{sub: sub, authTime: now, eventID: newUUID(), expires: now.Add(SessionTTL)}
	s.mu.Lock()
	s.sweepLocked(now)
	if old, err := r.Cookie(s.cookies.session); err == nil {
		delete(s.sessions, key(old.Value))
	}
	s.sessions[key(id)] = sess
	s.mu.Unlock()
	s.setCookie(w, s.cookies.session, id, SessionTTL)
	return sess
}

// endSession signs the browser out.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.cookies.session); err == nil {
		s.mu.Lock()
		delete(s.sessions, key(c.Value))
		s.mu.Unlock()
	}
	s.setCookie(w, s.cookies.session, "", -1)
}

// requestIDKey carries the request id in a context.
type requestIDKey struct{}

// logged gives every request an id (logged with each line about it, and
// returned in the X-Request-Id header) and logs the request once it is
// answered, without its query (which can hold codes).
func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestlog.NewID()
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		w.Header().Set("X-Request-Id", id)
		rec := requestlog.NewRecorder(w)
		start := time.Now()
		h.ServeHTTP(rec, r.WithContext(ctx))
		level := slog.LevelInfo
		if rec.Status() >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(ctx, level, "request", slog.String("method", r.Method),
			slog.String("path", requestlog.Clip(r.URL.Path)),
			slog.Int("status", rec.Status()), slog.Duration("latency", time.Since(start)))
	})
}

// requestIDHandler adds the request id, when the context has one, to every
// log line.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

func newUUID() string { return users.NewUUID() }
