package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/bolt"
)

var fixedNow = time.Date(2026, 11, 25, 10, 20, 0, 123e6, time.UTC)

func newBolt(t testing.TB) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newAPI(t testing.TB, store api.Store) (*api.API, *bytes.Buffer) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	return api.New(store, log, api.WithClock(func() time.Time { return fixedNow })), &logs
}

func loadEvent(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return req
}

func call(t testing.TB, a *api.API, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var fn string
	for _, r := range api.Routes {
		if r.Key == req.RouteKey {
			fn = r.Function
		}
	}
	h, ok := a.Handler(fn)
	if !ok {
		t.Fatalf("no handler for route %q", req.RouteKey)
	}
	resp, err := h(context.Background(), req)
	if err != nil {
		t.Fatalf("handler returned an error (Lambda would answer 500): %v", err)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if !json.Valid([]byte(resp.Body)) {
		t.Errorf("body is not JSON: %q", resp.Body)
	}
	return resp
}

// TestFixtures replays API Gateway payload 2.0 events, as a Lambda function
// would receive them, through the handlers on a real embedded store.
func TestFixtures(t *testing.T) {
	a, logs := newAPI(t, newBolt(t))
	steps := []struct {
		event      string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{"create_user.json", 201,
			`{"Age":34,"Balance":12345678901234567890.123,"CreatedAt":"2026-11-25T10:20:00.123Z","CreatedBy":"7c1e4a52-9d3b-4f6e-8a21-5b0c9d8e7f6a","Name":"Ana","UserId":"ana-01"}`,
			map[string]string{"Location": "/user?UserId=ana-01"}},
		{"create_user.json", 409, `{"message":"A user with this UserId already exists"}`, nil},
		{"create_user_base64.json", 201,
			`{"Address":{"City":"Madrid","Zip":"28001"},"CreatedAt":"2026-11-25T10:20:00.123Z","CreatedBy":"7c1e4a52-9d3b-4f6e-8a21-5b0c9d8e7f6a","Tags":["a","b"],"UserId":"ben-02"}`,
			map[string]string{"Location": "/user?UserId=ben-02"}},
		{"get_user.json", 200,
			`{"Age":34,"Balance":12345678901234567890.123,"CreatedAt":"2026-11-25T10:20:00.123Z","CreatedBy":"7c1e4a52-9d3b-4f6e-8a21-5b0c9d8e7f6a","Name":"Ana","UserId":"ana-01"}`, nil},
		{"list_users_not_admin.json", 403, `{"message":"Forbidden"}`, nil},
	}
	for _, s := range steps {
		resp := call(t, a, loadEvent(t, s.event))
		if resp.StatusCode != s.wantStatus || resp.Body != s.wantBody {
			t.Errorf("%s: got %d %s\nwant %d %s", s.event, resp.StatusCode, resp.Body, s.wantStatus, s.wantBody)
		}
		for k, v := range s.wantHeader {
			if resp.Headers[k] != v {
				t.Errorf("%s: header %s = %q, want %q", s.event, k, resp.Headers[k], v)
			}
		}
	}
	resp := call(t, a, loadEvent(t, "list_users_admin.json"))
	var page struct {
		Users  []map[string]any
		Cursor *string
	}
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("list: %d %s (%v)", resp.StatusCode, resp.Body, err)
	}
	if len(page.Users) != 2 || page.Cursor != nil {
		t.Errorf("list: %d users, cursor %v; want 2 and none", len(page.Users), page.Cursor)
	}
	for _, secret := range []string{"eyJ", "Madrid", "Ana"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log leaks %q:\n%s", secret, logs.String())
		}
	}
}

func TestLogLine(t *testing.T) {
	a, logs := newAPI(t, newBolt(t))
	call(t, a, loadEvent(t, "get_user.json"))
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("want exactly one JSON log line, got %q: %v", logs.String(), err)
	}
	want := map[string]any{"msg": "request", "request_id": "CfS0uhYJjoEEM3g=", "route": "GET /user",
		"status": float64(404), "sub": "7c1e4a52-9d3b-4f6e-8a21-5b0c9d8e7f6a"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["latency"]; !ok {
		t.Error("log line has no latency")
	}
}

// countingStore wraps a Store, counting calls and optionally failing them.
type countingStore struct {
	api.Store
	calls atomic.Int32
	err   error
	panic bool
}

func (s *countingStore) hit() error {
	s.calls.Add(1)
	if s.panic {
		panic("store exploded")
	}
	return s.err
}

func (s *countingStore) GetUser(ctx context.Context, id string) (api.Item, error) {
	if err := s.hit(); err != nil {
		return nil, err
	}
	return s.Store.GetUser(ctx, id)
}

func (s *countingStore) CreateUser(ctx context.Context, item api.Item) error {
	if err := s.hit(); err != nil {
		return err
	}
	return s.Store.CreateUser(ctx, item)
}

func (s *countingStore) ListUsers(ctx context.Context, limit int, after string) (api.Page, error) {
	if err := s.hit(); err != nil {
		return api.Page{}, err
	}
	return s.Store.ListUsers(ctx, limit, after)
}

func TestErrors(t *testing.T) {
	get := loadEvent(t, "get_user.json")
	create := loadEvent(t, "create_user.json")
	list := loadEvent(t, "list_users_admin.json")
	noClaims := func(r events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
		r.RequestContext.Authorizer = nil
		return r
	}
	noSub := func(r events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
		r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"email": "a@b.c"}},
		}
		return r
	}
	query := func(r events.APIGatewayV2HTTPRequest, q map[string]string) events.APIGatewayV2HTTPRequest {
		r.QueryStringParameters = q
		return r
	}
	body := func(r events.APIGatewayV2HTTPRequest, b string, b64 bool) events.APIGatewayV2HTTPRequest {
		r.Body, r.IsBase64Encoded = b, b64
		return r
	}
	internal := errors.New("dial tcp 10.0.0.1:443: secret internal detail")
	tests := []struct {
		name       string
		req        events.APIGatewayV2HTTPRequest
		storeErr   error
		panic      bool
		wantStatus int
		wantMsg    string
		wantCalls  int32
	}{
		{"get without claims", noClaims(get), nil, false, 401, "Unauthorized", 0},
		{"create without claims", noClaims(create), nil, false, 401, "Unauthorized", 0},
		{"list without claims", noClaims(list), nil, false, 401, "Unauthorized", 0},
		{"claims without sub", noSub(get), nil, false, 401, "Unauthorized", 0},
		{"get without UserId", query(get, nil), nil, false, 400, `query parameter "UserId" is required`, 0},
		{"get with empty UserId", query(get, map[string]string{"UserId": ""}), nil, false, 400, `"UserId" must not be empty`, 0},
		{"get absent", get, nil, false, 404, "User not found", 1},
		{"bad base64", body(create, "not base64!", true), nil, false, 400, "not valid base64", 0},
		{"body over 1 MiB", body(create, strings.Repeat(" ", api.MaxBodyBytes+1), false), nil, false, 413, "Request body exceeds 1 MiB", 0},
		{"base64 body over 1 MiB", body(create, strings.Repeat("AAAA", api.MaxBodyBytes/3+2), true), nil, false, 413, "Request body exceeds 1 MiB", 0},
		{"empty body", body(create, "", false), nil, false, 400, "request body is empty", 0},
		{"limit zero", query(list, map[string]string{"limit": "0"}), nil, false, 400, `"limit" must be a whole number from 1 to 100`, 0},
		{"limit 101", query(list, map[string]string{"limit": "101"}), nil, false, 400, `"limit"`, 0},
		{"limit text", query(list, map[string]string{"limit": "ten"}), nil, false, 400, `"limit"`, 0},
		{"limit with sign", query(list, map[string]string{"limit": "+5"}), nil, false, 400, `"limit"`, 0},
		{"limit with leading zero", query(list, map[string]string{"limit": "007"}), nil, false, 400, `"limit"`, 0},
		{"empty cursor", query(list, map[string]string{"cursor": ""}), nil, false, 400, `"cursor"`, 0},
		{"tampered cursor", query(list, map[string]string{"cursor": "AQAAAAAAAAAAYWxpY2U"}), nil, false, 400, `"cursor" is not a cursor this API issued`, 0},
		{"store unavailable", get, fmt.Errorf("get: %w", api.ErrUnavailable), false, 503, "Service Unavailable", 1},
		{"store timeout", create, context.DeadlineExceeded, false, 503, "Service Unavailable", 1},
		{"caller went away", get, context.Canceled, false, 503, "Service Unavailable", 1},
		{"store failure", list, internal, false, 500, "Internal Server Error", 1},
		{"store panic", get, nil, true, 500, "Internal Server Error", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &countingStore{Store: newBolt(t), err: tt.storeErr, panic: tt.panic}
			a, logs := newAPI(t, store)
			resp := call(t, a, tt.req)
			var msg struct{ Message string }
			json.Unmarshal([]byte(resp.Body), &msg)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(msg.Message, tt.wantMsg) {
				t.Errorf("got %d %s, want %d with %q", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantMsg)
			}
			if got := store.calls.Load(); got != tt.wantCalls {
				t.Errorf("store called %d times, want %d", got, tt.wantCalls)
			}
			if tt.wantStatus == 503 && resp.Headers["Retry-After"] == "" {
				t.Error("503 without Retry-After")
			}
			if strings.Contains(resp.Body, "secret") || strings.Contains(resp.Body, "exploded") {
				t.Errorf("response leaks internals: %s", resp.Body)
			}
			if tt.wantStatus == 500 && !strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("500 without an error log line: %s", logs.String())
			}
			if strings.Contains(logs.String(), "ana-01") || strings.Contains(logs.String(), "Balance") {
				t.Errorf("log carries the request's item: %s", logs.String())
			}
		})
	}
}

func TestListPagination(t *testing.T) {
	store := newBolt(t)
	a, _ := newAPI(t, store)
	create := loadEvent(t, "create_user.json")
	want := map[string]bool{}
	for i := range 7 {
		id := fmt.Sprintf("user %02d/é?&", i)
		want[id] = true
		req := create
		b, _ := json.Marshal(map[string]any{"User": map[string]any{"UserId": id}})
		req.Body = string(b)
		if resp := call(t, a, req); resp.StatusCode != 201 {
			t.Fatalf("create %q: %d %s", id, resp.StatusCode, resp.Body)
		}
	}
	list := loadEvent(t, "list_users_admin.json")
	seen := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		list.QueryStringParameters = map[string]string{"limit": "3"}
		if cursor != "" {
			list.QueryStringParameters["cursor"] = cursor
		}
		resp := call(t, a, list)
		var page struct {
			Users  []map[string]any
			Cursor string
		}
		if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || resp.StatusCode != 200 {
			t.Fatalf("page %d: %d %s", pages, resp.StatusCode, resp.Body)
		}
		if len(page.Users) > 3 {
			t.Fatalf("page of %d users, limit 3", len(page.Users))
		}
		for _, u := range page.Users {
			seen[u["UserId"].(string)]++
		}
		if page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%q listed %d times", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d distinct users, want %d", len(seen), len(want))
	}
}

// TestSizeCountsServiceStamps sends an item that fits the limit as sent but
// not once CreatedAt and CreatedBy are added: the stored item is what
// DynamoDB would refuse, so the answer is 413.
func TestSizeCountsServiceStamps(t *testing.T) {
	a, _ := newAPI(t, newBolt(t))
	req := loadEvent(t, "create_user.json")
	user := api.Item{"UserId": "big", "pad": ""}
	user["pad"] = strings.Repeat("x", api.MaxItemBytes-api.ItemSize(user)-5)
	b, _ := json.Marshal(map[string]any{"User": user})
	req.Body = string(b)
	if _, err := api.ParseCreateBody(b); err != nil {
		t.Fatalf("the item alone should be valid: %v", err)
	}
	if resp := call(t, a, req); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d %s, want 413", resp.StatusCode, resp.Body)
	}
}

func TestEveryRouteHasAHandler(t *testing.T) {
	a, _ := newAPI(t, newBolt(t))
	for _, r := range api.Routes {
		if _, ok := a.Handler(r.Function); !ok {
			t.Errorf("route %s names function %q, which has no handler", r.Key, r.Function)
		}
	}
	if _, ok := a.Handler("nope"); ok {
		t.Error("Handler found a function that does not exist")
	}
}

func TestLocationEscapesUserID(t *testing.T) {
	a, _ := newAPI(t, newBolt(t))
	req := loadEvent(t, "create_user.json")
	req.Body = `{"User":{"UserId":"a b&c=d/é"}}`
	resp := call(t, a, req)
	if want := "/user?UserId=a+b%26c%3Dd%2F%C3%A9"; resp.Headers["Location"] != want {
		t.Errorf("Location = %q, want %q", resp.Headers["Location"], want)
	}
}

// FuzzCreateUser throws arbitrary bodies at POST /user: the handler must
// never panic, and must answer JSON with a status the route documents.
func FuzzCreateUser(f *testing.F) {
	for _, seed := range []string{
		`{"User": {"UserId": "u1", "Name": "Ana"}}`,
		`{"User": {"UserId": "u1", "n": 12345678901234567890.123, "l": [1, [2, {"a": null}]], "b": true}}`,
		`{"User": {"UserId": 7}}`, `{"User": {}}`, `{}`, `[]`, `null`, ``, `{"User": {"UserId": "u"}} x`,
		`{"User": {"UserId": "u", "n": 1e999}}`, `{"User": {"UserId": "u", "CreatedBy": "x"}}`,
		`{"User": {"UserId": "\u0000"}}`, `{"User": {"UserId": "u", "a": {"a": {"a": [[[[[[]]]]]]}}}}`,
		`{"User": {"UserId": "u", "createdBy": "x"}}`, `{"User": {"UserId": "u", "CreatedBy\u200b": "x"}}`,
		`{"User": {"UserId": "u", "userid": "v", "Created\u2060At": 1}}`, `{"User": {"UserId": "u", "ＣｒｅａｔｅｄＢｙ": "x"}}`,
	} {
		f.Add(seed, false)
	}
	// One store for every input: repeated ids then answer 409, which is
	// part of what is being checked, and no input pays for a new file.
	store := newBolt(f)
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		var logs bytes.Buffer
		a := api.New(store, slog.New(slog.NewJSONHandler(&logs, nil)))
		req := events.APIGatewayV2HTTPRequest{
			RouteKey:        "POST /user",
			Body:            body,
			IsBase64Encoded: b64,
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "s"}},
				},
			},
		}
		resp, err := a.CreateUser(context.Background(), req)
		if err != nil {
			t.Fatalf("handler error: %v", err)
		}
		switch resp.StatusCode {
		case http.StatusCreated, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for body %q: %s (log: %s)", resp.StatusCode, body, resp.Body, logs.String())
		}
		var v map[string]any
		dec := json.NewDecoder(strings.NewReader(resp.Body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("response is not a JSON object: %q", resp.Body)
		}
		if resp.StatusCode == http.StatusCreated {
			// What was stored must read back identically.
			got, err := store.GetUser(context.Background(), v["UserId"].(string))
			if err != nil {
				t.Fatalf("created item cannot be read: %v", err)
			}
			stored, _ := json.Marshal(got)
			again, _ := json.Marshal(v)
			if !bytes.Equal(stored, again) {
				t.Fatalf("stored %s, answered %s", stored, again)
			}
		} else if _, ok := v["message"].(string); !ok {
			t.Fatalf("error without message: %s", resp.Body)
		}
	})
}

func BenchmarkGetUser(b *testing.B) {
	a := api.New(newBolt(b), slog.New(slog.DiscardHandler))
	if resp := call(b, a, loadEvent(b, "create_user.json")); resp.StatusCode != 201 {
		b.Fatal(resp.Body)
	}
	req := loadEvent(b, "get_user.json")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, _ := a.GetUser(ctx, req)
		if resp.StatusCode != 200 {
			b.Fatal(resp.Body)
		}
	}
}

func BenchmarkCreateUser(b *testing.B) {
	a := api.New(newBolt(b), slog.New(slog.DiscardHandler))
	req := loadEvent(b, "create_user.json")
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req.Body = `{"User": {"UserId": "user-` + fmt.Sprint(i) + `", "Name": "Ana", "Age": 34, "Tags": ["a", "b"]}}`
		resp, _ := a.CreateUser(ctx, req)
		if resp.StatusCode != 201 {
			b.Fatal(resp.Body)
		}
	}
}
