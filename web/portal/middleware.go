package portal

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/usersvc/usersvc/web/requestlog"
)

type ctxKey int

const requestIDKey ctxKey = iota

// requestID returns the id the request was given on arrival.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// observe gives every request an id (X-Request-Id), recovers from panics
// with the 500 page, and logs one line per request. Only the path is
// logged: query strings carry authorization codes and state. The method
// and path are the client's to choose, so they are clipped.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestlog.NewID()
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		rec := requestlog.NewRecorder(w)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(ctx, "panic", "request_id", id, "panic", p)
				if !rec.Sent() {
					s.serverError(rec, r, nil)
				}
			}
			level := slog.LevelInfo
			if rec.Status() >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(ctx, level, "request",
				slog.String("request_id", id),
				slog.String("method", requestlog.Clip(r.Method)),
				slog.String("path", requestlog.Clip(r.URL.Path)),
				slog.Int("status", rec.Status()),
				slog.Duration("latency", time.Since(start)),
			)
		}()
		next.ServeHTTP(rec, r)
	})
}

// secure sets the security headers every response carries. The policy
// allows only this origin's stylesheet and images, no script at all, no
// framing, and forms that post here or (through the sign-out redirect) to
// the provider.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		formAction := "'self'"
		if o := s.oidc.formOrigin(); o != "" {
			formAction += " " + o
		}
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.base.Scheme == "https" {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// noStore keeps pages, which show personal data, out of shared caches and
// the browser's history cache.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
