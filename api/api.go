// Package api is the user service: the User item and its validation, the
// route table, the Store contract, and one handler per route.
//
// Handlers take and return API Gateway HTTP API events (payload format 2.0),
// so the same code runs in AWS Lambda (lambdas/) and behind the local gateway
// (api/gateway). They trust the JWT authorizer in front of them for the
// token's signature and lifetime, and read the caller from the claims it
// passes on in requestContext.authorizer.jwt.claims.
package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// HandlerFunc is the shape of every handler: what a Lambda function behind
// an HTTP API (payload format 2.0) is given and returns.
type HandlerFunc func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// API serves the routes of the user service from a Store. It is safe for
// concurrent use.
type API struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// Option configures an API.
type Option func(*API)

// WithNow sets the clock that stamps CreatedAt (time.Now by default);
// tests use it.
func WithNow(now func() time.Time) Option {
	return func(a *API) { a.now = now }
}

// New returns an API on store that logs one line per request to log.
func New(store Store, log *slog.Logger, opts ...Option) *API {
	a := &API{store: store, log: log, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Handler returns the handler of the route table entry whose Function is
// function: the table says which method serves it.
func (a *API) Handler(function string) (HandlerFunc, bool) {
	for _, r := range Routes {
		if r.Function == function && r.Handler != nil {
			m := r.Handler
			return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return m(a, ctx, req)
			}, true
		}
	}
	return nil, false
}

// Default and largest page sizes of GET /users.
const (
	DefaultListLimit = 25
	MaxListLimit     = 100
)

// Errors the handlers answer without consulting the store.
var (
	errUnauthorized = errors.New("no authorizer claims")
	errForbidden    = errors.New("caller is not in the required group")
)

// GetUser serves GET /user?UserId=<id>: 200 with the item, 404 when absent.
func (a *API) GetUser(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, func(ctx context.Context, c caller) (events.APIGatewayV2HTTPResponse, error) {
		id, ok := req.QueryStringParameters[AttrUserID]
		if !ok {
			return events.APIGatewayV2HTTPResponse{}, invalid("query parameter \"UserId\" is required")
		}
		if err := ValidateUserID(id); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		item, err := a.store.GetUser(ctx, id)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return jsonResponse(http.StatusOK, item, nil)
	})
}

// CreateUser serves POST /user with {"User": {...}}: 201 with the stored
// item and its Location, 409 when the UserId is taken. It stamps CreatedAt
// and CreatedBy (the caller's sub).
func (a *API) CreateUser(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, func(ctx context.Context, c caller) (events.APIGatewayV2HTTPResponse, error) {
		body, err := requestBody(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		item, err := ParseCreateBody(body)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		item[AttrCreatedAt] = a.now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
		item[AttrCreatedBy] = c.sub
		// The stamps are short, but the limit is on the stored item.
		if ItemSize(item) > MaxItemBytes {
			return events.APIGatewayV2HTTPResponse{}, ErrItemTooLarge
		}
		id := item[AttrUserID].(string) // ParseCreateBody guarantees it
		if err := a.store.CreateUser(ctx, item); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		loc := "/user?" + url.Values{AttrUserID: {id}}.Encode()
		return jsonResponse(http.StatusCreated, item, map[string]string{"Location": loc})
	})
}

// listResponse is the body of GET /users.
type listResponse struct {
	Users  []Item `json:"Users"`
	Cursor string `json:"Cursor,omitempty"`
}

// ListUsers serves GET /users?limit=&cursor=&createdBy= to members of
// AdminGroup: a page of items and, when there may be more, an opaque cursor
// for the next. With createdBy, only the items whose CreatedBy is exactly
// that sub; such a page may be short or empty while a cursor follows, and
// its cursors are good only with the same createdBy.
func (a *API) ListUsers(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, func(ctx context.Context, c caller) (events.APIGatewayV2HTTPResponse, error) {
		if !c.inGroup(AdminGroup) {
			return events.APIGatewayV2HTTPResponse{}, errForbidden
		}
		q, err := parseListQuery(req.QueryStringParameters)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		page, err := a.store.ListUsers(ctx, q)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		resp := listResponse{Users: page.Items}
		if resp.Users == nil {
			resp.Users = []Item{}
		}
		if page.Next != "" {
			resp.Cursor = encodeCursor(page.Next, q.CreatedBy)
		}
		return jsonResponse(http.StatusOK, resp, nil)
	})
}

// parseListQuery reads the query string of GET /users. Unknown parameters
// are ignored, as everywhere in the API.
func parseListQuery(params map[string]string) (ListQuery, error) {
	q := ListQuery{Limit: DefaultListLimit}
	if s, ok := params["createdBy"]; ok {
		if err := ValidateCreatedBy(s); err != nil {
			return ListQuery{}, err
		}
		q.CreatedBy = s
	}
	if s, ok := params["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || !allDigits(s) || s[0] == '0' || n > MaxListLimit {
			return ListQuery{}, invalid("query parameter \"limit\" must be a whole number from 1 to %d", MaxListLimit)
		}
		q.Limit = n
	}
	if s, ok := params["cursor"]; ok {
		after, err := decodeCursor(s, q.CreatedBy)
		if err != nil {
			return ListQuery{}, err
		}
		q.After = after
	}
	return q, nil
}

// caller is who the JWT authorizer says is calling.
type caller struct {
	sub    string
	groups []string
}

func (c caller) inGroup(g string) bool {
	for _, have := range c.groups {
		if have == g {
			return true
		}
	}
	return false
}

// callerOf reads the caller from the authorizer's claims. API Gateway passes
// every claim as a string and renders arrays as "[a b]".
func callerOf(req events.APIGatewayV2HTTPRequest) (caller, bool) {
	auth := req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil {
		return caller{}, false
	}
	sub := auth.JWT.Claims["sub"]
	if sub == "" {
		return caller{}, false
	}
	return caller{sub: sub, groups: parseClaimList(auth.JWT.Claims["cognito:groups"])}, true
}

// parseClaimList reads an array claim as API Gateway renders it ("[a b]"),
// and also a bare single value.
func parseClaimList(s string) []string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	return strings.Fields(s)
}

// requestBody returns the raw body, decoding it when API Gateway marked it
// base64, and refuses bodies over MaxBodyBytes before anything is parsed.
func requestBody(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBodyBytes {
			return nil, ErrBodyTooLarge
		}
		return []byte(req.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBodyBytes+2 {
		return nil, ErrBodyTooLarge
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, invalid("request body is marked base64 but is not valid base64")
	}
	if len(b) > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// serve runs one request: it checks the caller, calls fn, turns errors into
// responses in one place, recovers from panics, and logs one line.
func (a *API) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest, fn func(context.Context, caller) (events.APIGatewayV2HTTPResponse, error)) (resp events.APIGatewayV2HTTPResponse, _ error) {
	start := time.Now()
	c, ok := callerOf(req)
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			resp = errorResponse(err)
		}
		attrs := []slog.Attr{
			slog.String("request_id", req.RequestContext.RequestID),
			slog.String("route", req.RouteKey),
			slog.Int("status", resp.StatusCode),
			slog.Duration("latency", time.Since(start)),
			slog.String("sub", c.sub),
		}
		level := slog.LevelInfo
		if resp.StatusCode >= 500 {
			level = slog.LevelError
			if resp.StatusCode == 503 {
				level = slog.LevelWarn // expected under load; retried by the caller
			}
			if err != nil {
				attrs = append(attrs, slog.String("error", err.Error()))
			}
		}
		a.log.LogAttrs(ctx, level, "request", attrs...)
	}()
	if !ok {
		err = errUnauthorized
	} else {
		resp, err = fn(ctx, c)
	}
	if err != nil {
		resp = errorResponse(err)
	}
	return resp, nil
}

// errorResponse is the one place where errors become status codes.
func errorResponse(err error) events.APIGatewayV2HTTPResponse {
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		return message(http.StatusBadRequest, verr.Message, nil)
	case errors.Is(err, ErrBodyTooLarge), errors.Is(err, ErrItemTooLarge):
		return message(http.StatusRequestEntityTooLarge, capitalize(err.Error()), nil)
	case errors.Is(err, errUnauthorized):
		return message(http.StatusUnauthorized, "Unauthorized", nil)
	case errors.Is(err, errForbidden):
		return message(http.StatusForbidden, "Forbidden", nil)
	case errors.Is(err, ErrNotFound):
		return message(http.StatusNotFound, "User not found", nil)
	case errors.Is(err, ErrExists):
		return message(http.StatusConflict, "A user with this UserId already exists", nil)
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// A cancelled request (the caller went away, or Lambda's deadline
		// came) is no fault of the service: worth a retry, not an alarm.
		return message(http.StatusServiceUnavailable, "Service Unavailable", map[string]string{"Retry-After": "1"})
	}
	return message(http.StatusInternalServerError, "Internal Server Error", nil)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func message(status int, msg string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	resp, err := jsonResponse(status, struct {
		Message string `json:"message"`
	}{msg}, headers)
	if err != nil { // cannot happen for a struct of one string
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusInternalServerError}
	}
	return resp
}

func jsonResponse(status int, v any, headers map[string]string) (events.APIGatewayV2HTTPResponse, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("encode response: %w", err)
	}
	h := map[string]string{"Content-Type": "application/json; charset=utf-8"}
	for k, v := range headers {
		h[k] = v
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    h,
		Body:       strings.TrimSuffix(b.String(), "\n"),
	}, nil
}
