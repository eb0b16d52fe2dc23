// Package client is a typed Go client of the user service's HTTP API
// (GET /user, POST /user, GET /users), as served by API Gateway in AWS and
// by api/gateway locally.
//
// Every call carries the caller's access token as "Authorization: Bearer".
// The API's {"message": "..."} error bodies become *Error values, which
// match api.ErrNotFound, api.ErrExists, api.ErrUnavailable and this
// package's sentinels under errors.Is, so callers branch on meaning rather
// than on status codes.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/usersvc/usersvc/api"
)

// Client calls one deployment of the HTTP API. It is safe for concurrent
// use; the token is per call, so one Client serves every signed-in user.
type Client struct {
	base *url.URL
	http *http.Client
}

// New returns a Client for the API at baseURL (for example
// "https://abc123.execute-api.eu-west-1.amazonaws.com" or
// "http://localhost:3000"). A nil httpClient means a client with a 15 s
// timeout; API Gateway itself gives up after 30 s.
func New(baseURL string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("parse api url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api url %q: want an absolute http or https url", baseURL)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{base: u, http: httpClient}, nil
}

// Page is one page of GET /users.
type Page struct {
	Users []api.Item
	// Cursor continues the listing where this page stopped; "" when the
	// listing is complete.
	Cursor string
}

// GetUser returns the item whose UserId is id. A missing user is an *Error
// matching api.ErrNotFound.
func (c *Client) GetUser(ctx context.Context, token, id string) (api.Item, error) {
	q := url.Values{api.AttrUserID: {id}}
	var item api.Item
	if err := c.do(ctx, http.MethodGet, "/user", q, token, nil, http.StatusOK, &item); err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return item, nil
}

// CreateUser stores item (which must hold a string UserId) and returns the
// item as stored, with the service's CreatedAt and CreatedBy. A taken UserId
// is an *Error matching api.ErrExists.
func (c *Client) CreateUser(ctx context.Context, token string, item api.Item) (api.Item, error) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		User api.Item `json:"User"`
	}{item}); err != nil {
		return nil, fmt.Errorf("create user: encode: %w", err)
	}
	var stored api.Item
	if err := c.do(ctx, http.MethodPost, "/user", nil, token, &body, http.StatusCreated, &stored); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return stored, nil
}

// ListQuery selects a page of GET /users.
type ListQuery struct {
	// Limit is the most users on the page; 0 means the API's default.
	Limit int
	// Cursor is the Cursor of the page before; "" for the first page.
	Cursor string
	// CreatedBy, when not "", keeps only the users whose CreatedBy is
	// exactly this sub. Such a page may be short, even empty, while its
	// Cursor is set: follow the cursors until one is "". A cursor is good
	// only with the CreatedBy of the page it came with.
	CreatedBy string
}

// ListUsers returns a page of users. Only admins may list; anyone else
// gets an *Error matching ErrForbidden. A CreatedBy or Cursor the API
// refuses is an *Error matching ErrInvalid, whose Message says why.
func (c *Client) ListUsers(ctx context.Context, token string, lq ListQuery) (Page, error) {
	q := url.Values{}
	if lq.Limit > 0 {
		q.Set("limit", strconv.Itoa(lq.Limit))
	}
	if lq.Cursor != "" {
		q.Set("cursor", lq.Cursor)
	}
	if lq.CreatedBy != "" {
		q.Set("createdBy", lq.CreatedBy)
	}
	var body struct {
		Users  []api.Item `json:"Users"`
		Cursor string     `json:"Cursor"`
	}
	if err := c.do(ctx, http.MethodGet, "/users", q, token, nil, http.StatusOK, &body); err != nil {
		return Page{}, fmt.Errorf("list users: %w", err)
	}
	return Page{Users: body.Users, Cursor: body.Cursor}, nil
}

// maxResponseBytes bounds what is read from the API: a page of 100 items
// of at most 400 KB each, with room to spare.
const maxResponseBytes = 64 << 20

func (c *Client) do(ctx context.Context, method, path string, q url.Values, token string, body io.Reader, want int, out any) error {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL holds no secret (the token travels in a header), so the
		// transport's error can be wrapped as it is.
		return &Error{Status: 0, Message: "The user service is not reachable", err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return &Error{Status: 0, Message: "The user service stopped answering", err: err}
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("response of %s %s exceeds %d bytes", method, path, maxResponseBytes)
	}
	if resp.StatusCode != want {
		return responseError(resp, data)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers keep every digit, as the API stores them
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("decode %s %s response: %w", method, path, err)
	}
	return nil
}

// responseError turns a non-success response into an *Error, keeping the
// API's own message when the body has the {"message"} shape.
func responseError(resp *http.Response, data []byte) *Error {
	e := &Error{Status: resp.StatusCode, RequestID: requestID(resp.Header)}
	var body struct {
		Message *string `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && body.Message != nil {
		e.Message = *body.Message
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return e
}

// requestID reads the id API Gateway (apigw-requestid) or the local
// gateway gives the request, so it can be quoted to whoever reads the logs.
func requestID(h http.Header) string {
	for _, k := range []string{"Apigw-Requestid", "X-Amzn-Requestid", "X-Request-Id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// Sentinels an *Error matches, besides api.ErrNotFound (404),
// api.ErrExists (409) and api.ErrUnavailable (503, 429 and no answer).
var (
	// ErrInvalid: the API refused the input (400); Message says why.
	ErrInvalid = errors.New("invalid request")
	// ErrUnauthorized: the token was missing, expired or not trusted (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the caller may not do this (403), e.g. list users
	// without being in the admins group.
	ErrForbidden = errors.New("forbidden")
	// ErrTooLarge: the request or the item is over the API's limits (413).
	ErrTooLarge = errors.New("too large")
)

// routeNotFound is API Gateway's message for a request no route matches.
const routeNotFound = "Not Found"

// Error is an unsuccessful call: the API's answer, or no answer at all
// (Status 0).
type Error struct {
	// Status is the HTTP status code, or 0 when the API could not be reached.
	Status int
	// Message is the API's {"message"}, fit to show to the user as it is.
	Message string
	// RequestID is the API's id for the request, when it sent one.
	RequestID string
	// RetryAfter is the API's Retry-After, when it sent one.
	RetryAfter time.Duration

	err error // the transport error when Status is 0
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("api unreachable: %v", e.err)
	}
	return fmt.Sprintf("api answered %d: %s", e.Status, e.Message)
}

// Unwrap returns the transport error of an unreachable API.
func (e *Error) Unwrap() error { return e.err }

// Is reports whether the error means target: api.ErrNotFound for a 404
// from the service (not API Gateway's "no such route"),
// api.ErrExists for 409, api.ErrUnavailable for 503, 429 and an API that
// did not answer, and this package's sentinels for 400, 401, 403 and 413.
func (e *Error) Is(target error) bool {
	switch target {
	case api.ErrNotFound:
		// API Gateway answers a path it has no route for with
		// {"message":"Not Found"}: that is a wrong base URL, not a
		// missing user.
		return e.Status == http.StatusNotFound && e.Message != routeNotFound
	case api.ErrExists:
		return e.Status == http.StatusConflict
	case api.ErrUnavailable:
		return e.Status == 0 || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests
	case ErrInvalid:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	}
	return false
}
