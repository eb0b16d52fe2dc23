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
	"strconv"
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
	return api.New(store, log, api.WithNow(func() time.Time { return fixedNow })), &logs
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
	// Filtered by the sub that created both, a page of one at a time.
	byCreator := loadEvent(t, "list_users_created_by.json")
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("filtered listing does not end")
		}
		resp := call(t, a, byCreator)
		var page struct {
			Users  []map[string]any
			Cursor string
		}
		if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || resp.StatusCode != 200 || len(page.Users) > 1 {
			t.Fatalf("list by creator: %d %s (%v)", resp.StatusCode, resp.Body, err)
		}
		for _, u := range page.Users {
			ids = append(ids, u["UserId"].(string))
		}
		if page.Cursor == "" {
			break
		}
		byCreator.QueryStringParameters["cursor"] = page.Cursor
	}
	if strings.Join(ids, ",") != "ana-01,ben-02" {
		t.Errorf("list by creator: %v, want ana-01 and ben-02", ids)
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
	last  api.ListQuery // the query of the last ListUsers
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

func (s *countingStore) ListUsers(ctx context.Context, q api.ListQuery) (api.Page, error) {
	if err := s.hit(); err != nil {
		return api.Page{}, err
	}
	s.last = q
	return s.Store.ListUsers(ctx, q)
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
		{"empty createdBy", query(list, map[string]string{"createdBy": ""}), nil, false, 400, `query parameter "createdBy" must not be empty`, 0},
		{"createdBy over 256 bytes", query(list, map[string]string{"createdBy": strings.Repeat("s", 257)}), nil, false, 400, `query parameter "createdBy" is 257 bytes long; at most 256 are allowed`, 0},
		{"createdBy not UTF-8", query(list, map[string]string{"createdBy": "sub\xff"}), nil, false, 400, `query parameter "createdBy" is not valid UTF-8`, 0},
		{"createdBy with a newline", query(list, map[string]string{"createdBy": "sub\nx"}), nil, false, 400, `query parameter "createdBy" must not contain control characters`, 0},
		{"createdBy with NUL", query(list, map[string]string{"createdBy": "sub\x00"}), nil, false, 400, `query parameter "createdBy" must not contain control characters`, 0},
		{"createdBy checked before limit", query(list, map[string]string{"createdBy": "", "limit": "0"}), nil, false, 400, `"createdBy"`, 0},
		{"createdBy with a bad limit", query(list, map[string]string{"createdBy": "sub", "limit": "0"}), nil, false, 400, `"limit"`, 0},
		{"createdBy with a tampered cursor", query(list, map[string]string{"createdBy": "sub", "cursor": "AQAAAAAAAAAAYWxpY2U"}), nil, false, 400, `"cursor" is not a cursor this API issued`, 0},
		{"createdBy with an unfiltered cursor", query(list, map[string]string{"createdBy": "sub", "cursor": "Ac8oexPhY2sJYWxpY2U"}), nil, false, 400, `"cursor" is not a cursor this API issued for this listing`, 0},
		{"createdBy, store failure", query(list, map[string]string{"createdBy": "sub"}), internal, false, 500, "Internal Server Error", 1},
		{"createdBy, store unavailable", query(list, map[string]string{"createdBy": "sub"}), api.ErrUnavailable, false, 503, "Service Unavailable", 1},
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

// createAs creates an item with id through POST /user as the caller sub.
func createAs(t *testing.T, a *api.API, sub, id string) {
	t.Helper()
	req := loadEvent(t, "create_user.json")
	req.RequestContext.Authorizer.JWT.Claims["sub"] = sub
	b, _ := json.Marshal(map[string]any{"User": map[string]any{"UserId": id}})
	req.Body = string(b)
	if resp := call(t, a, req); resp.StatusCode != 201 {
		t.Fatalf("create %q as %q: %d %s", id, sub, resp.StatusCode, resp.Body)
	}
}

type listPage struct {
	Users  []map[string]any
	Cursor string
}

// listAs lists GET /users with the query q as an admin.
func listAs(t *testing.T, a *api.API, q map[string]string) (int, listPage, string) {
	t.Helper()
	req := loadEvent(t, "list_users_admin.json")
	req.QueryStringParameters = q
	resp := call(t, a, req)
	var page listPage
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || page.Users == nil {
			t.Fatalf("list %v: %s (%v)", q, resp.Body, err)
		}
	}
	return resp.StatusCode, page, resp.Body
}

// TestListCreatedBy pages through GET /users?createdBy= for each of several
// creators, whose subs are near misses of one another or need escaping.
func TestListCreatedBy(t *testing.T) {
	store := &countingStore{Store: newBolt(t)}
	a, _ := newAPI(t, store)
	subs := []string{"7c1e4a52-9d3b-4f6e-8a21-5b0c9d8e7f6a", "7c1e4a52-9d3b-4f6e-8a21-5b0c9d8e7f6", "a b&c=d/é", "A B&C=D/É", "nobody"}
	want := map[string]map[string]bool{}
	for i := range 23 {
		sub := subs[i%4]
		if i > 12 {
			sub = subs[0] // most of the rest by one creator
		}
		id := fmt.Sprintf("item %02d/?&", i)
		createAs(t, a, sub, id)
		if want[sub] == nil {
			want[sub] = map[string]bool{}
		}
		want[sub][id] = true
	}
	for _, sub := range subs {
		for _, limit := range []string{"1", "2", "5", "100"} {
			seen := map[string]int{}
			q := map[string]string{"createdBy": sub, "limit": limit}
			for pages := 0; ; pages++ {
				if pages > 30 {
					t.Fatalf("%q: pagination does not end", sub)
				}
				status, page, body := listAs(t, a, q)
				if status != 200 {
					t.Fatalf("%q limit %s: %d %s", sub, limit, status, body)
				}
				if store.last.CreatedBy != sub || store.last.Limit != atoi(limit) {
					t.Fatalf("store asked %+v", store.last)
				}
				for _, u := range page.Users {
					if u["CreatedBy"] != sub {
						t.Errorf("%q: listed %v, created by %v", sub, u["UserId"], u["CreatedBy"])
					}
					seen[u["UserId"].(string)]++
				}
				if page.Cursor == "" {
					break
				}
				q["cursor"] = page.Cursor
			}
			for id := range want[sub] {
				if seen[id] != 1 {
					t.Errorf("%q limit %s: %q listed %d times", sub, limit, id, seen[id])
				}
			}
			if len(seen) != len(want[sub]) {
				t.Errorf("%q limit %s: listed %d, want %d", sub, limit, len(seen), len(want[sub]))
			}
		}
	}

	// A cursor is good only in the listing that issued it.
	_, first, _ := listAs(t, a, map[string]string{"createdBy": subs[0], "limit": "1"})
	_, plain, _ := listAs(t, a, map[string]string{"limit": "1"})
	if first.Cursor == "" || plain.Cursor == "" {
		t.Fatal("no cursors to swap")
	}
	for _, q := range []map[string]string{
		{"createdBy": subs[1], "cursor": first.Cursor},
		{"cursor": first.Cursor},
		{"createdBy": subs[0], "cursor": plain.Cursor},
	} {
		if status, _, body := listAs(t, a, q); status != 400 || !strings.Contains(body, `not a cursor this API issued for this listing`) {
			t.Errorf("list %v: %d %s, want 400", q, status, body)
		}
	}
	// A creator of nothing: an empty page, no cursor.
	if status, page, body := listAs(t, a, map[string]string{"createdBy": "nobody"}); status != 200 || len(page.Users) != 0 || page.Cursor != "" {
		t.Errorf("list by nobody: %d %s", status, body)
	}
	// Only admins may filter.
	req := loadEvent(t, "list_users_not_admin.json")
	req.QueryStringParameters = map[string]string{"createdBy": subs[0]}
	if resp := call(t, a, req); resp.StatusCode != 403 {
		t.Errorf("non-admin filter: %d %s", resp.StatusCode, resp.Body)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
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

// FuzzListUsers throws arbitrary query strings at GET /users: the handler
// must never panic, must answer 200 or 400 with JSON, and a 200 must keep
// the filter and the limit, with a cursor that the same query accepts.
func FuzzListUsers(f *testing.F) {
	for _, seed := range []struct {
		limit, cursor, createdBy string
		has                      uint8 // bit 0: limit, 1: cursor, 2: createdBy
	}{
		{"10", "", "", 1},
		{"1", "", "sub-a", 5},
		{"2", "Ac8oexPhY2sJYWxpY2U", "", 3},
		{"2", "Ac8oexPhY2sJYWxpY2U", "sub-a", 7},
		{"", "", "", 4},
		{"", "", "sub-a\x00", 4},
		{"", "", "sub\xff", 4},
		{"", "", "\u0085", 4},
		{"0", "", "sub-b", 5},
		{"100", "AQAAAAAAAAAAYWxpY2U", "sub-b", 7},
		{"", "", "sub-a sub-b", 4},
		{"", "", "SUB-A", 4},
		{"", "", strings.Repeat("é", 129), 4},
	} {
		f.Add(seed.limit, seed.cursor, seed.createdBy, seed.has)
	}
	store := newBolt(f)
	a := api.New(store, slog.New(slog.DiscardHandler))
	for i := range 7 {
		sub := []string{"sub-a", "sub-b", "SUB-A"}[i%3]
		item := api.Item{"UserId": fmt.Sprintf("u%d", i), "CreatedBy": sub}
		if err := store.CreateUser(context.Background(), item); err != nil {
			f.Fatal(err)
		}
	}
	admin := &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "s", "cognito:groups": "[admins]"}},
	}
	f.Fuzz(func(t *testing.T, limit, cursor, createdBy string, has uint8) {
		q := map[string]string{}
		if has&1 != 0 {
			q["limit"] = limit
		}
		if has&2 != 0 {
			q["cursor"] = cursor
		}
		if has&4 != 0 {
			q["createdBy"] = createdBy
		}
		req := events.APIGatewayV2HTTPRequest{RouteKey: "GET /users", QueryStringParameters: q,
			RequestContext: events.APIGatewayV2HTTPRequestContext{Authorizer: admin}}
		resp, err := a.ListUsers(context.Background(), req)
		if err != nil {
			t.Fatalf("handler error: %v", err)
		}
		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusBadRequest:
			var msg struct{ Message string }
			if json.Unmarshal([]byte(resp.Body), &msg) != nil || msg.Message == "" {
				t.Fatalf("400 without a message: %s", resp.Body)
			}
			return
		default:
			t.Fatalf("status %d for %q: %s", resp.StatusCode, q, resp.Body)
		}
		var page listPage
		if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || page.Users == nil {
			t.Fatalf("200 without a page: %s", resp.Body)
		}
		most := api.DefaultListLimit
		if n, ok := q["limit"]; ok {
			most, _ = strconv.Atoi(n)
		}
		if len(page.Users) > most {
			t.Fatalf("%d users for limit %d", len(page.Users), most)
		}
		for _, u := range page.Users {
			if by, ok := q["createdBy"]; ok && u["CreatedBy"] != by {
				t.Fatalf("createdBy %q listed %v", by, u)
			}
		}
		if page.Cursor != "" {
			q["cursor"] = page.Cursor
			req.QueryStringParameters = q
			if resp, _ := a.ListUsers(context.Background(), req); resp.StatusCode != http.StatusOK {
				t.Fatalf("the page's own cursor refused: %d %s", resp.StatusCode, resp.Body)
			}
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
