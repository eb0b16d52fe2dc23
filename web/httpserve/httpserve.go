// Package httpserve bounds what one client can hold of an HTTP server: the
// number of open connections, the time to send request headers, and, per
// route, the time to send a body and to be answered.
//
// A body's read deadline moves with the body: it starts Limits.Grace after
// the request began and moves forward by the time each byte received is
// worth at Limits.MinRate. A client that keeps up at least MinRate (a 10 MB
// upload on a slow link) is never cut off; one that declares a length and
// sends nothing, or trickles, is, Grace after it stalls. Once the body is
// in, the read deadline is lifted (the request's context is cancelled when
// a read deadline passes, which would end a long handler for nothing) and
// the reply has Limits.Handle to be written.
//
// A handler that answers without reading the body (a redirect, a refusal)
// has its reply sent at once with "Connection: close", instead of waiting,
// as net/http otherwise does, for the rest of a body that may never come.
//
// Use New for a server with these bounds (its Limits apply to every
// request) and Limit, or Apply inside a handler that knows the route only
// after routing, to give a route its own Limits.
package httpserve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/netutil"
)

// Defaults of Limits and Config.
const (
	// DefaultGrace is the time a body may lag behind MinRate.
	DefaultGrace = 5 * time.Second
	// DefaultMinRate is the slowest steady upload accepted: 16 KiB/s, a
	// poor mobile link (a 10 MB body then has about ten minutes).
	DefaultMinRate = 16 << 10
	// DefaultMaxBody is the size assumed for a body of unknown length
	// (chunked) when Limits.MaxBody is zero: a form's.
	DefaultMaxBody = 64 << 10
	// DefaultHandle is the time to handle a request and write its reply
	// once the body is in.
	DefaultHandle = 30 * time.Second

	// DefaultMaxConns bounds the connections a server holds open at once;
	// past it, new connections wait in the kernel's accept queue.
	DefaultMaxConns = 512
	// DefaultReadHeaderTimeout is the time to send the request line and
	// headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = time.Minute
)

// Limits are the deadlines of one route. Zero fields take the defaults.
type Limits struct {
	// Grace is how far a body may lag behind MinRate, and so how long a
	// client may stall before its connection is closed.
	Grace time.Duration
	// MinRate is the slowest steady upload, in bytes per second, that is
	// always let through.
	MinRate int64
	// MaxBody is the largest body the route takes. It does not refuse
	// anything (the handler does, with its own answer); it bounds the read
	// deadline of a body whose length is not declared.
	MaxBody int64
	// Handle is the time allowed to handle the request and write its
	// reply, from the moment the body is in.
	Handle time.Duration
}

// Form is the Limits of a page form or a small JSON request: a few seconds
// to arrive, whatever the link.
var Form = Limits{Grace: 5 * time.Second, MaxBody: 64 << 10, Handle: 30 * time.Second}

func (l Limits) withDefaults() Limits {
	if l.Grace <= 0 {
		l.Grace = DefaultGrace
	}
	if l.MinRate <= 0 {
		l.MinRate = DefaultMinRate
	}
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	if l.Handle <= 0 {
		l.Handle = DefaultHandle
	}
	return l
}

// worth is how long n bytes take at MinRate.
func (l Limits) worth(n int64) time.Duration {
	return time.Duration(float64(n) / float64(l.MinRate) * float64(time.Second))
}

// Limit returns a handler that serves next under l.
func Limit(l Limits, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r = Apply(w, r, l)
		next.ServeHTTP(w, r)
	})
}

// Apply puts the request being served under l and returns the writer and
// request to use from then on. Under a Server (or Limit) it replaces the
// limits already in force and returns w and r unchanged; elsewhere it wraps
// them. Call it before reading the body.
func Apply(w http.ResponseWriter, r *http.Request, l Limits) (http.ResponseWriter, *http.Request) {
	if t, ok := r.Context().Value(trackerKey{}).(*tracker); ok {
		t.set(l)
		return w, r
	}
	t := &tracker{rc: http.NewResponseController(w), start: time.Now(), declared: r.ContentLength}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		t.done = true
	} else {
		r.Body = &body{ReadCloser: r.Body, t: t}
	}
	t.set(l)
	r = r.WithContext(context.WithValue(r.Context(), trackerKey{}, t))
	return &writer{ResponseWriter: w, t: t}, r
}

type trackerKey struct{}

// tracker holds one request's limits and the progress of its body.
type tracker struct {
	rc       *http.ResponseController
	start    time.Time
	declared int64 // Content-Length, -1 when unknown

	mu     sync.Mutex
	l      Limits
	n      int64 // body bytes received
	done   bool  // body read to its end (or there is none)
	readBy time.Time
}

func (t *tracker) set(l Limits) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.l = l.withDefaults()
	if t.done {
		// No body to wait for: no read deadline (see the package doc), and
		// Handle from now for the reply.
		t.rc.SetReadDeadline(time.Time{})
		t.rc.SetWriteDeadline(time.Now().Add(t.l.Handle))
		return
	}
	size := t.declared
	if size < 0 || size > t.l.MaxBody {
		size = t.l.MaxBody
	}
	t.moveLocked(time.Now(), true)
	// The reply may have to wait for the whole body at MinRate.
	t.rc.SetWriteDeadline(t.start.Add(t.l.Grace + t.l.worth(size) + t.l.Handle))
}

// moveLocked moves the read deadline to what the bytes received so far
// have earned, when that moved it by enough to be worth a call.
func (t *tracker) moveLocked(now time.Time, force bool) {
	d := t.start.Add(t.l.Grace + t.l.worth(t.n))
	if !force && d.Sub(t.readBy) < 50*time.Millisecond {
		return
	}
	t.readBy = d
	t.rc.SetReadDeadline(d)
}

func (t *tracker) read(n int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n += int64(n)
	if err == io.EOF && !t.done {
		t.done = true
		t.rc.SetReadDeadline(time.Time{})
		t.rc.SetWriteDeadline(time.Now().Add(t.l.Handle))
		return
	}
	if n > 0 && !t.done {
		t.moveLocked(time.Now(), false)
	}
}

func (t *tracker) bodyDone() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done
}

type body struct {
	io.ReadCloser
	t *tracker
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.t.read(n, err)
	return n, err
}

// writer closes the connection after a reply sent before the body was
// read: net/http would otherwise read what is left of the body (up to 256
// KB) before sending the headers, so a client that declared a body and
// sent none would hold the reply until its read deadline.
type writer struct {
	http.ResponseWriter
	t     *tracker
	wrote bool
}

func (w *writer) prepare() {
	if w.wrote {
		return
	}
	w.wrote = true
	if !w.t.bodyDone() {
		w.ResponseWriter.Header().Set("Connection", "close")
	}
}

func (w *writer) WriteHeader(status int) {
	if status >= 200 {
		w.prepare()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *writer) Write(b []byte) (int, error) {
	w.prepare()
	return w.ResponseWriter.Write(b)
}

// Flush sends what is buffered, as http.Flusher.
func (w *writer) Flush() {
	w.prepare()
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Config configures a Server. Only Handler is required.
type Config struct {
	Handler http.Handler
	// Limits apply to every request, until a route's own (Apply) replace
	// them.
	Limits Limits
	// MaxConns bounds the open connections; DefaultMaxConns when zero.
	MaxConns int
	// ReadHeaderTimeout and IdleTimeout: the defaults when zero.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// Log gets the server's own errors (bad TLS, panics), at WARN; nil
	// discards them.
	Log *slog.Logger
}

// Server is an http.Server with the bounds of Config. Serve it with its
// Serve method (which bounds the connections), shut it down with Shutdown.
type Server struct {
	*http.Server
	maxConns int
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		Server: &http.Server{
			Handler:           Limit(cfg.Limits, cfg.Handler),
			ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
			IdleTimeout:       orDefault(cfg.IdleTimeout, DefaultIdleTimeout),
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		maxConns: cfg.MaxConns,
	}
	if s.maxConns <= 0 {
		s.maxConns = DefaultMaxConns
	}
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Serve accepts at most Config.MaxConns connections at a time on ln and
// serves them. It returns http.ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	return s.Server.Serve(netutil.LimitListener(ln, s.maxConns))
}
