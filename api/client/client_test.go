package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/bolt"
	"github.com/usersvc/usersvc/api/client"
)

// TestErrors checks that each error body the HTTP API sends becomes an
// *Error with the API's message and the right meaning under errors.Is.
func TestErrors(t *testing.T) {
	all := []error{client.ErrInvalid, client.ErrUnauthorized, client.ErrForbidden, api.ErrNotFound, api.ErrExists, client.ErrTooLarge, api.ErrUnavailable}
	tests := []struct {
		name    string
		status  int
		body    string
		header  map[string]string
		want    error
		message string
		retry   time.Duration
	}{
		{"bad input", 400, `{"message":"\"UserId\" must not be empty"}`, nil, client.ErrInvalid, `"UserId" must not be empty`, 0},
		{"no token", 401, `{"message":"Unauthorized"}`, map[string]string{"www-authenticate": `Bearer scope="" error="invalid_token"`}, client.ErrUnauthorized, "Unauthorized", 0},
		{"not admin", 403, `{"message":"Forbidden"}`, nil, client.ErrForbidden, "Forbidden", 0},
		{"absent", 404, `{"message":"User not found"}`, nil, api.ErrNotFound, "User not found", 0},
		{"no such route", 404, `{"message":"Not Found"}`, nil, nil, "Not Found", 0},
		{"taken", 409, `{"message":"A user with this UserId already exists"}`, nil, api.ErrExists, "A user with this UserId already exists", 0},
		{"too large", 413, `{"message":"Item exceeds DynamoDB's 400 KB item size limit"}`, nil, client.ErrTooLarge, "Item exceeds DynamoDB's 400 KB item size limit", 0},
		{"throttled", 503, `{"message":"Service Unavailable"}`, map[string]string{"Retry-After": "1"}, api.ErrUnavailable, "Service Unavailable", time.Second},
		{"stage throttle", 429, `{"message":"Too Many Requests"}`, nil, api.ErrUnavailable, "Too Many Requests", 0},
		{"not json", 502, `<html>Bad Gateway</html>`, nil, nil, "Bad Gateway", 0},
		{"internal", 500, `{"message":"Internal Server Error"}`, nil, nil, "Internal Server Error", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Apigw-Requestid", "req-1")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, err := client.New(srv.URL, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetUser(context.Background(), "tok", "alice")
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *client.Error", err, err)
			}
			if e.Status != tt.status || e.Message != tt.message || e.RequestID != "req-1" || e.RetryAfter != tt.retry {
				t.Errorf("got %+v, want status %d message %q retry %v", e, tt.status, tt.message, tt.retry)
			}
			for _, target := range all {
				if got := errors.Is(err, target); got != (target == tt.want) {
					t.Errorf("errors.Is(err, %v) = %v", target, got)
				}
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := client.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListUsers(context.Background(), "tok", client.ListQuery{})
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 0 || !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("got %v, want an unreachable *client.Error matching api.ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "tok") {
		t.Errorf("error %q mentions the token", err)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:3000", "ftp://x", "http://", "://"} {
		if _, err := client.New(u, nil); err == nil {
			t.Errorf("New(%q) = nil error", u)
		}
	}
}

// TestRequests checks what the client sends: method, path, query, token
// and body.
func TestRequests(t *testing.T) {
	type seen struct {
		method, path, query, auth, ctype, body string
	}
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		switch r.URL.Path {
		case "/prod/user":
			if r.Method == http.MethodPost {
				w.WriteHeader(http.StatusCreated)
			}
			io.WriteString(w, `{"UserId":"a b","n":12345678901234567890123456789012345678}`)
		case "/prod/users":
			io.WriteString(w, `{"Users":[{"UserId":"a"},{"UserId":"b"}],"Cursor":"next"}`)
		}
	}))
	defer srv.Close()
	c, err := client.New(srv.URL+"/prod/", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	item, err := c.GetUser(ctx, "T1", "a b")
	if err != nil {
		t.Fatal(err)
	}
	if want := (seen{"GET", "/prod/user", "UserId=a+b", "Bearer T1", "", ""}); got != want {
		t.Errorf("GetUser sent %+v, want %+v", got, want)
	}
	if n, ok := item["n"].(json.Number); !ok || n.String() != "12345678901234567890123456789012345678" {
		t.Errorf("number came back as %#v", item["n"])
	}

	_, err = c.CreateUser(ctx, "T2", api.Item{"UserId": "a b", "n": json.Number("1.50"), "tag": "<x>"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (seen{"POST", "/prod/user", "", "Bearer T2", "application/json", `{"User":{"UserId":"a b","n":1.50,"tag":"<x>"}}` + "\n"}); got != want {
		t.Errorf("CreateUser sent %+v, want %+v", got, want)
	}

	page, err := c.ListUsers(ctx, "T3", client.ListQuery{Limit: 2, Cursor: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (seen{"GET", "/prod/users", "cursor=abc&limit=2", "Bearer T3", "", ""}); got != want {
		t.Errorf("ListUsers sent %+v, want %+v", got, want)
	}
	if len(page.Users) != 2 || page.Cursor != "next" {
		t.Errorf("page = %+v", page)
	}

	if _, err := c.ListUsers(ctx, "T4", client.ListQuery{CreatedBy: "a b&c=d/é"}); err != nil {
		t.Fatal(err)
	}
	if want := (seen{"GET", "/prod/users", "createdBy=a+b%26c%3Dd%2F%C3%A9", "Bearer T4", "", ""}); got != want {
		t.Errorf("ListUsers by creator sent %+v, want %+v", got, want)
	}
}

// TestAgainstHandlers runs the client against the service's real handlers
// on the embedded store, behind a minimal stand-in for the gateway that
// passes fixed claims, so the client and the API agree on every shape.
func TestAgainstHandlers(t *testing.T) {
	store, err := bolt.Open(filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	a := api.New(store, slog.New(slog.DiscardHandler))
	groups, sub := "[]", "sub-1"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var fn string
		for _, rt := range api.Routes {
			if rt.Key == r.Method+" "+r.URL.Path {
				fn = rt.Function
			}
		}
		h, ok := a.Handler(fn)
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = strings.Join(v, ",")
		}
		req := events.APIGatewayV2HTTPRequest{
			RouteKey:              r.Method + " " + r.URL.Path,
			QueryStringParameters: q,
			Body:                  string(body),
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RequestID: "rid",
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
						Claims: map[string]string{"sub": sub, "cognito:groups": groups},
					},
				},
			},
		}
		resp, err := h(r.Context(), req)
		if err != nil {
			t.Error(err)
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.StatusCode)
		io.WriteString(w, resp.Body)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if _, err := c.GetUser(ctx, "t", "nobody"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("get absent: %v, want not found", err)
	}
	stored, err := c.CreateUser(ctx, "t", api.Item{"UserId": "ada", "Age": json.Number("36.0"), "Tags": []any{"x", true, nil}})
	if err != nil {
		t.Fatal(err)
	}
	if stored["CreatedBy"] != "sub-1" || stored["Age"] != json.Number("36") {
		t.Errorf("stored = %v", stored)
	}
	got, err := c.GetUser(ctx, "t", "ada")
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := json.Marshal(got); string(g) != mustJSON(t, stored) {
		t.Errorf("get = %s, want %s", g, mustJSON(t, stored))
	}
	if _, err := c.CreateUser(ctx, "t", api.Item{"UserId": "ada"}); !errors.Is(err, api.ErrExists) {
		t.Errorf("create twice: %v, want exists", err)
	}
	var e *client.Error
	if _, err := c.CreateUser(ctx, "t", api.Item{"UserId": ""}); !errors.Is(err, client.ErrInvalid) || !errors.As(err, &e) || e.Message != `"UserId" must not be empty` {
		t.Errorf("create empty id: %v", err)
	}
	if _, err := c.CreateUser(ctx, "t", api.Item{"UserId": "big", "Blob": strings.Repeat("x", 500*1024)}); !errors.Is(err, client.ErrTooLarge) {
		t.Errorf("create big: %v, want too large", err)
	}
	if _, err := c.ListUsers(ctx, "t", client.ListQuery{}); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("list as non-admin: %v, want forbidden", err)
	}
	groups = "[admins]"
	for _, id := range []string{"bob", "cy"} {
		if _, err := c.CreateUser(ctx, "t", api.Item{"UserId": id}); err != nil {
			t.Fatal(err)
		}
	}
	sub = "sub 2&x=é"
	for _, id := range []string{"dee", "eve"} {
		if _, err := c.CreateUser(ctx, "t", api.Item{"UserId": id}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(q client.ListQuery) string {
		var ids []string
		for range 10 {
			page, err := c.ListUsers(ctx, "t", q)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Users {
				ids = append(ids, it["UserId"].(string))
			}
			if q.Cursor = page.Cursor; q.Cursor == "" {
				break
			}
		}
		return strings.Join(ids, ",")
	}
	for q, want := range map[client.ListQuery]string{
		{Limit: 2}:                         "ada,bob,cy,dee,eve",
		{Limit: 2, CreatedBy: "sub-1"}:     "ada,bob,cy",
		{Limit: 1, CreatedBy: "sub 2&x=é"}: "dee,eve",
		{CreatedBy: "sub-"}:                "",
		{Limit: 1, CreatedBy: "SUB 2&X=É"}: "",
	} {
		if got := list(q); got != want {
			t.Errorf("list %+v: %q, want %q", q, got, want)
		}
	}
	_, err = c.ListUsers(ctx, "t", client.ListQuery{CreatedBy: "a\nb"})
	if !errors.Is(err, client.ErrInvalid) || !errors.As(err, &e) || e.Message != `query parameter "createdBy" must not contain control characters` {
		t.Errorf("list by a bad sub: %v", err)
	}
	first, err := c.ListUsers(ctx, "t", client.ListQuery{Limit: 1, CreatedBy: "sub-1"})
	if err != nil || first.Cursor == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	if _, err := c.ListUsers(ctx, "t", client.ListQuery{Cursor: first.Cursor, CreatedBy: sub}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("another listing's cursor: %v, want invalid", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
