// Package httpserve bounds what one client can hold of an HTTP server: the
// number of open connections, the time to send request headers, and, per
// route, the time to send a body and to be answered.
//
// A body's read deadline moves with the body: it starts Limits.Grace after
// the handler's first Read of it (a handler may work a while first: the
// gateway's authorizer fetching keys) and moves forward by the time each
// byte received is worth at Limits.MinRate. A client that keeps up at
// least MinRate (a 10 MB upload on a slow link) is never cut off; one that
// declares a length and sends nothing, or trickles, is, Grace after it
// stalls. Once the body is in, the read deadline is lifted (the request's
// context is cancelled when a read deadline passes, which would end a long
// handler for nothing). Before the first Read there is no read deadline;
// a handler that replies, or returns, without reading starts the clock
// then (net/http reads what is left of a small body after the handler, to
// reuse the connection), and one that does neither is ended by the
// request's deadline.
//
// The whole request has a deadline, counted from when it reached the
// handler: Grace, then the declared body (or MaxBody) at MinRate, then
// Handle. The request's context ends then, so that a handler stuck on a
// backend that never answers is let go; the time a handler spends before
// reading the body comes out of Handle. The reply has until Grace after
// that deadline to be written, and once the body is in, no more than Grace
// and Handle.
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
	// DefaultHandle is the time to handle a request and write its reply,
	// beyond the time its body is given.
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
	// reply, beyond the time its body is given (see the package doc).
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
		outer := trackerOf(r) == nil
		w, r = Apply(w, r, l)
		if outer {
			// The request is served when next returns; a Limit inside
			// another leaves this to the outer one, whose caller may still
			// be using its context.
			defer trackerOf(r).finish()
		}
		next.ServeHTTP(w, r)
	})
}

// Apply puts the request being served under l and returns the writer and
// request to use from then on: a copy of r (r itself is left as it was)
// whose context ends at the deadline of l. Under a Server (or Limit) it
// replaces the limits already in force, deadline included, counted from
// when the request began, and returns w unchanged; elsewhere it wraps w.
// Call it before reading the body.
func Apply(w http.ResponseWriter, r *http.Request, l Limits) (http.ResponseWriter, *http.Request) {
	if t := trackerOf(r); t != nil {
		return w, r.WithContext(t.set(l))
	}
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	t := &tracker{rc: http.NewResponseController(w), begun: time.Now(), declared: r.ContentLength,
		hasBody: hasBody, done: !hasBody}
	t.base = context.WithValue(r.Context(), trackerKey{}, t)
	// WithContext copies r: the body is set on the copy.
	r = r.WithContext(t.set(l))
	if hasBody {
		r.Body = &body{ReadCloser: r.Body, t: t}
	}
	return &writer{ResponseWriter: w, t: t}, r
}

type trackerKey struct{}

func trackerOf(r *http.Request) *tracker {
	t, _ := r.Context().Value(trackerKey{}).(*tracker)
	return t
}

// tracker holds one request's limits and the progress of its body.
type tracker struct {
	rc       *http.ResponseController
	begun    time.Time // when the request reached the handler
	declared int64     // Content-Length, -1 when unknown
	hasBody  bool
	base     context.Context // the request's context, with the tracker

	mu      sync.Mutex
	l       Limits
	started bool      // the body's first Read has begun
	start   time.Time // when it began: the body's clock
	n       int64     // body bytes received
	done    bool      // body read to its end (or there is none)
	readBy  time.Time
	cancels []context.CancelFunc
}

// deadline is when a request under l must be done: Grace, then its body
// (as declared, or MaxBody) at MinRate, then Handle, from when it began.
func (t *tracker) deadline() time.Time {
	size := int64(0)
	if t.hasBody {
		size = t.declared
		if size < 0 || size > t.l.MaxBody {
			size = t.l.MaxBody
		}
	}
	return t.begun.Add(t.l.Grace + t.l.worth(size) + t.l.Handle)
}

// set puts the request under l and returns its context with l's deadline.
func (t *tracker) set(l Limits) context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.l = l.withDefaults()
	dl := t.deadline()
	ctx, cancel := context.WithDeadline(t.base, dl)
	t.cancels = append(t.cancels, cancel)
	switch {
	case t.done:
		t.rc.SetReadDeadline(time.Time{})
		t.writeDeadlineLocked(time.Now())
	case t.started:
		t.moveLocked(true)
		t.rc.SetWriteDeadline(dl.Add(t.l.Grace))
	default:
		// No read deadline before the first Read (see the package doc).
		t.rc.SetReadDeadline(time.Time{})
		t.rc.SetWriteDeadline(dl.Add(t.l.Grace))
	}
	return ctx
}

// writeDeadlineLocked gives the reply, once the body is in, Grace and
// Handle from now, but no more than Grace past the request's deadline
// (time for a handler whose context ended to say so).
func (t *tracker) writeDeadlineLocked(now time.Time) {
	t.rc.SetWriteDeadline(minTime(now.Add(t.l.Grace+t.l.Handle), t.deadline()).Add(t.l.Grace))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// finish releases the request's contexts once it has been served, and
// starts the body's clock if the handler never read it: net/http reads
// what is left of a small body after the handler, and that read must not
// wait for ever.
func (t *tracker) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.startLocked()
	for _, c := range t.cancels {
		c()
	}
	t.cancels = nil
}

// moveLocked moves the read deadline to what the bytes received so far
// have earned, when that moved it by enough to be worth a call.
func (t *tracker) moveLocked(force bool) {
	d := t.start.Add(t.l.Grace + t.l.worth(t.n))
	if !force && d.Sub(t.readBy) < 50*time.Millisecond {
		return
	}
	t.readBy = d
	t.rc.SetReadDeadline(d)
}

// reading starts the body's clock at its first Read.
func (t *tracker) reading() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.startLocked()
}

// startLocked starts the body's clock, unless it has started or there is
// no body left to wait for.
func (t *tracker) startLocked() {
	if t.started || t.done {
		return
	}
	t.started, t.start = true, time.Now()
	t.moveLocked(true)
}

func (t *tracker) read(n int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n += int64(n)
	if err == io.EOF && !t.done {
		t.done = true
		t.rc.SetReadDeadline(time.Time{})
		t.writeDeadlineLocked(time.Now())
		return
	}
	if n > 0 && !t.done {
		t.moveLocked(false)
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
	b.t.reading()
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
		// net/http may still read some of the body (see finish): from
		// now, within Grace.
		w.t.reading()
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
