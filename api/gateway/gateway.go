package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"golang.org/x/time/rate"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/gateway/jwtauth"
	"github.com/usersvc/usersvc/web/httpserve"
)

// Limits API Gateway applies to every HTTP API.
const (
	// MaxBodyBytes is the largest request body (10 MB); larger ones get 413.
	MaxBodyBytes = 10 << 20
	// DefaultTimeout is a route's integration timeout: HTTP API's default
	// and maximum. A function still running then is answered 503
	// {"message":"Service Unavailable"}, as API Gateway answers it.
	//
	// It is not the function's own Lambda timeout, which the gateway does
	// not model: a deployed function stopped by Lambda at its timeout
	// (terraform's lambda_timeout_seconds, 10 s by default, at most 30 s)
	// is a function error, which API Gateway answers 500. Set
	// Config.Timeout to the function timeout to see a slow function fail
	// locally when it would fail in AWS (with 503 rather than 500).
	DefaultTimeout = 30 * time.Second
)

// Config configures a Gateway. Routes and a handler for each route are
// required, and Issuer and Audience unless every route is Public; the rest
// have working defaults.
type Config struct {
	// Routes is the route table to serve, normally api.Routes.
	Routes []api.Route
	// Handler looks up the Lambda handler of a route's Function;
	// (*api.API).Handler fits as it is.
	Handler func(function string) (api.HandlerFunc, bool)
	// Functions maps a Function name to a handler of any shape
	// lambda.NewHandler accepts (including a lambda.Handler that returns
	// raw JSON). It takes precedence over Handler.
	Functions map[string]any

	// Issuer is the JWT issuer to trust (the Cognito user pool URL, or the
	// local identity provider's). Its discovery document and keys are
	// fetched on first use, so the issuer need not be up yet.
	Issuer string
	// Audience lists the app client ids accepted in aud or client_id.
	Audience []string
	// HTTPClient fetches the issuer's discovery document and JWKS; nil
	// means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Authorizer, when set, replaces the one built from Issuer, Audience
	// and HTTPClient (tests use it to shorten refresh intervals).
	Authorizer *jwtauth.Authorizer

	// Now is the time source; nil means time.Now.
	Now func() time.Time
	// Log receives operational messages (never tokens or bodies); nil
	// discards them.
	Log *slog.Logger
	// AccessLog receives one JSON line per request in the seed's access log
	// format; nil discards them.
	AccessLog io.Writer

	// CORS, when set, makes the gateway answer preflight requests and add
	// CORS headers, as an HTTP API's CORS configuration does. Off when nil.
	CORS *CORS
	// Throttle is the stage's request rate limit; the zero value is none.
	Throttle Throttle
	// MaxConcurrency bounds the invocations in flight per route, like a
	// function's reserved concurrency; 0 means unbounded. An invocation
	// stops counting at its timeout, as in Lambda; since a goroutine cannot
	// be stopped, a function that ignores its context keeps running in a
	// retired environment until it returns.
	MaxConcurrency int
	// Timeout is every route's integration timeout; 0 means DefaultTimeout
	// (30 s). See DefaultTimeout for how it relates to the Lambda function
	// timeout.
	Timeout time.Duration
	// RouteTimeouts overrides Timeout per route key ("GET /user").
	RouteTimeouts map[string]time.Duration
	// MaxBody is the largest request body the gateway takes, refused with
	// 413 beyond; 0 means MaxBodyBytes, API Gateway's 10 MB. Lower it in
	// front of functions that take less (the portal's forms): a public
	// route reads bodies before anything authenticates the caller, and the
	// gateway holds each one in memory, several times over.
	MaxBody int64
	// Body sets how slowly a request body may arrive: its Grace and
	// MinRate (httpserve's defaults when zero) apply to every route; the
	// gateway sets MaxBody and Handle per route (see routeLimits).
	Body httpserve.Limits

	// APIID and AccountID fill requestContext; defaults "local" and
	// "000000000000".
	APIID     string
	AccountID string
	// RequestID returns a new request id; nil means API Gateway-shaped
	// random ids. Tests fix it for golden events.
	RequestID func() string
}

// Throttle is a token bucket: Rate requests per second on average, with
// bursts of up to Burst. API Gateway's account default is 10,000 and 5,000.
type Throttle struct {
	Rate  float64
	Burst int
}

// Gateway serves an HTTP API: routing, JWT authorizer, payload format 2.0
// and Lambda-style invocation. It is an http.Handler, safe for concurrent
// use.
type Gateway struct {
	routes    *router
	auth      *jwtauth.Authorizer
	now       func() time.Time
	log       *slog.Logger
	access    *accessLog
	cors      *CORS
	limiter   *rate.Limiter
	apiID     string
	accountID string
	newID     func() string

	maxBody int64 // see Config.MaxBody

	lastSecond atomic.Pointer[stampedSecond]
	closed     atomic.Bool
}

// New returns a Gateway for cfg. It checks that every route has a handler
// and that the issuer is a URL, but contacts nothing.
func New(cfg Config) (*Gateway, error) {
	if len(cfg.Routes) == 0 {
		return nil, errors.New("gateway: no routes")
	}
	g := &Gateway{
		now:       cfg.Now,
		log:       cfg.Log,
		access:    newAccessLog(cfg.AccessLog),
		cors:      cfg.CORS,
		apiID:     orDefault(cfg.APIID, "local"),
		accountID: orDefault(cfg.AccountID, "000000000000"),
		newID:     cfg.RequestID,
		auth:      cfg.Authorizer,
		maxBody:   cfg.MaxBody,
	}
	if g.maxBody <= 0 || g.maxBody > MaxBodyBytes {
		g.maxBody = MaxBodyBytes
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.newID == nil {
		g.newID = newRequestID
	}
	if g.cors != nil {
		if err := g.cors.check(); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	if cfg.Throttle.Rate > 0 {
		burst := cfg.Throttle.Burst
		if burst < 1 {
			burst = 1
		}
		g.limiter = rate.NewLimiter(rate.Limit(cfg.Throttle.Rate), burst)
	}
	if g.auth == nil && !allPublic(cfg.Routes) {
		var err error
		g.auth, err = jwtauth.New(jwtauth.Config{
			Issuer:     cfg.Issuer,
			Audience:   cfg.Audience,
			HTTPClient: cfg.HTTPClient,
			Now:        cfg.Now,
			Log:        g.log,
		})
		if err != nil {
			return nil, fmt.Errorf("gateway: jwt authorizer: %w", err)
		}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	routes := make([]*route, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		var h any
		if f, ok := cfg.Functions[r.Function]; ok {
			h = f
		} else if cfg.Handler != nil {
			if f, ok := cfg.Handler(r.Function); ok {
				h = f
			}
		}
		if h == nil {
			return nil, fmt.Errorf("gateway: route %q: no handler for function %q", r.Key, r.Function)
		}
		// lambda.NewHandler reports a wrong shape only when invoked.
		if _, ok := h.(lambda.Handler); !ok && reflect.TypeOf(h).Kind() != reflect.Func {
			return nil, fmt.Errorf("gateway: route %q: handler of function %q is a %T, not a function", r.Key, r.Function, h)
		}
		rt := &route{Route: r, timeout: timeout, envs: newEnvironments(h)}
		if d, ok := cfg.RouteTimeouts[r.Key]; ok && d > 0 {
			rt.timeout = d
		}
		rt.limits = routeLimits(r, rt.timeout, cfg.Body, g.maxBody)
		if cfg.MaxConcurrency > 0 {
			rt.slots = make(chan struct{}, cfg.MaxConcurrency)
		}
		routes = append(routes, rt)
	}
	var err error
	if g.routes, err = newRouter(routes); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return g, nil
}

// allPublic reports whether no route needs the JWT authorizer, in which
// case the gateway needs no issuer (the portal's own HTTP API).
func allPublic(routes []api.Route) bool {
	for _, r := range routes {
		if !r.Public {
			return false
		}
	}
	return true
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// newRequestID returns an id shaped like API Gateway's (16 base64
// characters, e.g. "Mc7UVioPPHcEKPA=").
func newRequestID() string {
	var b [11]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// Gateway answers that API Gateway itself sends.
var (
	msgNotFound     = gatewayAnswer{http.StatusNotFound, "Not Found"}
	msgUnauthorized = gatewayAnswer{http.StatusUnauthorized, "Unauthorized"}
	msgForbidden    = gatewayAnswer{http.StatusForbidden, "Forbidden"}
	msgTooLarge     = gatewayAnswer{http.StatusRequestEntityTooLarge, "Request Entity Too Large"}
	msgTooMany      = gatewayAnswer{http.StatusTooManyRequests, "Too Many Requests"}
	msgInternal     = gatewayAnswer{http.StatusInternalServerError, "Internal Server Error"}
	msgUnavailable  = gatewayAnswer{http.StatusServiceUnavailable, "Service Unavailable"}
	msgBadRequest   = gatewayAnswer{http.StatusBadRequest, "Bad Request"}
	// msgRequestTimeout answers a body that did not arrive in time.
	msgRequestTimeout = gatewayAnswer{http.StatusRequestTimeout, "Request Timeout"}
	// msgClientClosed is never sent (no one is there): it is the status
	// the access log records for a client that went away (nginx's 499).
	msgClientClosed = gatewayAnswer{499, "Client Closed Request"}
)

type gatewayAnswer struct {
	status  int
	message string
}

// ServeHTTP serves one request the way API Gateway would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	reqID := g.newID()
	rec := &accessRecord{
		requestID: reqID,
		sourceIP:  sourceIP(r),
		protocol:  r.Proto,
		method:    clipMethod(r.Method),
	}
	cw := &countingWriter{ResponseWriter: w}
	defer func() { g.access.write(rec, cw, g.requestTime(start)) }()
	// Until the route is known, a body gets a form's time (whatever the
	// server around the gateway allows): it is not read before routing.
	w, r = httpserve.Apply(cw, r, httpserve.Form)
	// Lower case, exactly as API Gateway sends them.
	w.Header()["apigw-requestid"] = []string{reqID}

	if g.closed.Load() {
		rec.integrationError = "gateway closed"
		g.answer(w, r, msgUnavailable)
		return
	}
	if g.limiter != nil && !g.limiter.AllowN(start, 1) {
		g.answer(w, r, msgTooMany)
		return
	}
	if g.cors != nil && g.cors.preflight(w, r) {
		return
	}
	rt, params, ok := g.routes.match(r.Method, r.URL.Path)
	if !ok {
		g.answer(w, r, msgNotFound)
		return
	}
	rec.route = rt
	w, r = httpserve.Apply(w, r, rt.limits)
	// A declared length over the limit is refused before anything else:
	// it costs nothing. The body itself is read only once the authorizer
	// has passed the request, so that no unauthenticated client can make
	// the gateway buffer 10 MB.
	if r.ContentLength > g.maxBody {
		g.answer(w, r, msgTooLarge)
		return
	}
	res, err := &jwtauth.Result{}, error(nil)
	if !rt.Public {
		res, err = g.auth.Authorize(r.Context(), joinedHeader(r.Header, "Authorization"), rt.Scopes)
	}
	if err != nil {
		var aerr *jwtauth.Error
		if errors.As(err, &aerr) {
			w.Header()["www-authenticate"] = []string{aerr.Challenge()}
			// A valid token without a route scope is refused as forbidden,
			// not unauthorized: the caller is known, the grant is short.
			if aerr.Code == jwtauth.CodeInsufficientScope {
				g.answer(w, r, msgForbidden)
				return
			}
		}
		g.answer(w, r, msgUnauthorized)
		return
	}
	body, ans, ok := readBody(r, g.maxBody)
	if !ok {
		if ans == msgClientClosed {
			// No one to answer: the access log records nginx's 499, and
			// nothing is an error of the gateway's.
			rec.integrationError = "client closed the request"
			w.WriteHeader(ans.status)
			return
		}
		g.answer(w, r, ans)
		return
	}
	if rt.slots != nil {
		select {
		case rt.slots <- struct{}{}:
		default:
			rec.integrationError = "function concurrency limit reached"
			g.answer(w, r, msgTooMany)
			return
		}
	}
	ev := g.newEvent(r, rt, params, body, reqID, start, res.Claims, res.Scopes)
	resp, ans, ierr := g.invoke(r.Context(), rt, ev, reqID)
	if ierr != "" {
		rec.integrationError = ierr
		g.log.LogAttrs(r.Context(), slog.LevelWarn, "integration failed",
			slog.String("request_id", reqID), slog.String("route", rt.Key), slog.String("error", ierr))
		g.answer(w, r, ans)
		return
	}
	g.writeResponse(w, r, resp)
}

// clipMethod bounds the method recorded in the access log: any token is a
// method to net/http, up to the length of a request line.
func clipMethod(m string) string {
	const limit = 128
	if len(m) <= limit {
		return m
	}
	return m[:limit] + "…(truncated, " + strconv.Itoa(len(m)) + " bytes)"
}

// joinedHeader is the value of a header as API Gateway sees it: repeated
// headers joined with commas, as in payload format 2.0. Several
// Authorization headers therefore make one token that does not verify.
// name must be in canonical form.
func joinedHeader(h http.Header, name string) string {
	v := h[name]
	if len(v) == 1 {
		return v[0]
	}
	return strings.Join(v, ",")
}

// Close retires the gateway's warm execution environments, whose
// goroutines would otherwise stay up to a minute after the server stops.
// Requests served afterwards are answered 503 {"message":"Service
// Unavailable"}. Invocations in flight finish and their environments end
// then; Close does not wait for them. Call it after http.Server.Shutdown
// has returned and before closing the store the functions use. It always
// returns nil, and may be called more than once.
func (g *Gateway) Close() error {
	g.closed.Store(true)
	for _, rt := range g.routes.all() {
		rt.envs.close()
	}
	return nil
}

// readBody reads the request body, refusing it past max bytes.
func readBody(r *http.Request, max int64) ([]byte, gatewayAnswer, bool) {
	if r.ContentLength > max {
		return nil, msgTooLarge, false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, gatewayAnswer{}, true
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		// Slower than the route's minimum rate (see routeLimits).
		return nil, msgRequestTimeout, false
	case err != nil && r.Context().Err() != nil:
		return nil, msgClientClosed, false
	case err != nil:
		return nil, msgBadRequest, false
	}
	if int64(len(b)) > max {
		return nil, msgTooLarge, false
	}
	return b, gatewayAnswer{}, true
}

// answer writes one of API Gateway's own responses.
func (g *Gateway) answer(w http.ResponseWriter, r *http.Request, a gatewayAnswer) {
	if g.cors != nil {
		g.cors.decorate(w.Header(), r)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	body := `{"message":"` + a.message + `"}`
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(a.status)
	io.WriteString(w, body)
}

// invoke runs the route's function on ev through aws-lambda-go's handler
// machinery, as the Lambda runtime does: the event goes in as JSON and the
// response comes out as JSON. It returns the decoded response, or the answer
// to send and the integration error message to log.
func (g *Gateway) invoke(ctx context.Context, rt *route, ev *event, reqID string) (*response, gatewayAnswer, string) {
	payload := appendEvent(make([]byte, 0, 2048), ev)
	// The function runs to its own deadline even if the client goes away,
	// as a Lambda invocation does.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rt.timeout)
	defer cancel()
	done := make(chan invokeResult, 1)
	env := rt.envs.get()
	// The concurrency slot is freed when the function returns or when the
	// timeout ends the invocation, whichever comes first: Lambda frees a
	// timed-out invocation's concurrency, so a function that ignores its
	// context must not make the route answer 429 for good.
	var release func()
	if rt.slots != nil {
		release = sync.OnceFunc(rt.release)
	}
	env.jobs <- invocation{
		ctx:      lambdaContext(ctx, reqID, rt),
		payload:  payload,
		done:     done,
		finished: release,
	}
	select {
	case res := <-done:
		if res.err != nil {
			return nil, msgInternal, "function error: " + res.err.Error()
		}
		resp, err := decodeResponse(res.out)
		if err != nil {
			return nil, msgInternal, "malformed function response: " + err.Error()
		}
		return resp, gatewayAnswer{}, ""
	case <-ctx.Done():
		// Lambda would stop the function here. A goroutine cannot be
		// stopped, so the function is left to finish on its own in an
		// environment that is never used again.
		env.abandon()
		if release != nil {
			release()
		}
		g.log.LogAttrs(ctx, slog.LevelWarn, "invocation abandoned at its timeout; its environment is retired",
			slog.String("request_id", reqID), slog.String("route", rt.Key), slog.Duration("timeout", rt.timeout))
		return nil, msgUnavailable, fmt.Sprintf("function timed out after %s", rt.timeout)
	}
}

// release frees a concurrency slot taken for an invocation.
func (rt *route) release() {
	<-rt.slots
}

// writeResponse turns a function response into the HTTP response.
func (g *Gateway) writeResponse(w http.ResponseWriter, r *http.Request, resp *response) {
	h := w.Header()
	for k, v := range resp.headers {
		h.Set(k, v)
	}
	if _, ok := h["Content-Type"]; !ok {
		// Send no Content-Type rather than one net/http would guess.
		h["Content-Type"] = nil
	}
	for _, c := range resp.cookies {
		h.Add("Set-Cookie", c)
	}
	if g.cors != nil {
		g.cors.decorate(h, r)
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		w.Write(resp.body)
	}
}

// route is one entry of the route table, ready to serve.
type route struct {
	api.Route
	envs    *environments
	timeout time.Duration
	limits  httpserve.Limits
	slots   chan struct{} // nil when concurrency is unbounded
}

// routeLimits are the deadlines of a route: a body the size the route's
// method takes (maxBody for one that creates or changes something, a
// form's otherwise) arriving at httpserve's minimum rate, so that a 10 MB
// POST on a slow link gets its ten minutes and a GET its few seconds; then
// the integration timeout, and a little more to write the reply.
func routeLimits(r api.Route, timeout time.Duration, body httpserve.Limits, maxBody int64) httpserve.Limits {
	l := httpserve.Form
	if body.Grace > 0 {
		l.Grace = body.Grace
	}
	l.MinRate = body.MinRate
	method, _, _ := strings.Cut(r.Key, " ")
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, "ANY", "$default":
		l.MaxBody = maxBody
	}
	l.MaxBody = min(l.MaxBody, maxBody)
	l.Handle = timeout + 5*time.Second
	return l
}

// countingWriter remembers the status and body length for the access log.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int
}

func (c *countingWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
	c.ResponseWriter.WriteHeader(status)
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(b)
	c.n += n
	return n, err
}
