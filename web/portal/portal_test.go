package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/client"
	"github.com/usersvc/usersvc/web/portal"
	"github.com/usersvc/usersvc/web/portal/session"
)

// clock is a settable clock for the portal under test.
type clock struct {
	mu  sync.Mutex
	now time.Time
	// step, when set, is how far each reading moves the clock on, so
	// that requests racing each other read different times, as they do.
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now
	c.now = c.now.Add(c.step)
	return now
}

func (c *clock) tick(step time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step = step
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeUsers is the HTTP API in memory, answering with the API's own error
// messages.
type fakeUsers struct {
	mu      sync.Mutex
	items   map[string]api.Item
	fail    error // when set, every call fails with it
	tokens  []string
	queries []client.ListQuery // of ListUsers
	scan    int                // when set, the most items a filtered ListUsers evaluates
}

func newFakeUsers() *fakeUsers { return &fakeUsers{items: map[string]api.Item{}} }

func (f *fakeUsers) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakeUsers) lastToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokens) == 0 {
		return ""
	}
	return f.tokens[len(f.tokens)-1]
}

// takeQueries returns the ListUsers queries since the last call.
func (f *fakeUsers) takeQueries() []client.ListQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queries
	f.queries = nil
	return q
}

func (f *fakeUsers) GetUser(ctx context.Context, token, id string) (api.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, token)
	if f.fail != nil {
		return nil, f.fail
	}
	it, ok := f.items[id]
	if !ok {
		return nil, &client.Error{Status: 404, Message: "User not found"}
	}
	return it, nil
}

func (f *fakeUsers) CreateUser(ctx context.Context, token string, item api.Item) (api.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, token)
	if f.fail != nil {
		return nil, f.fail
	}
	id := item["UserId"].(string)
	if _, ok := f.items[id]; ok {
		return nil, &client.Error{Status: 409, Message: "A user with this UserId already exists"}
	}
	b, _ := json.Marshal(item)
	if len(b) > 1000 {
		return nil, &client.Error{Status: 413, Message: "Item exceeds DynamoDB's 400 KB item size limit"}
	}
	stored := api.Item{}
	for k, v := range item {
		stored[k] = v
	}
	stored["CreatedAt"] = "2026-01-01T00:00:00.000Z"
	f.items[id] = stored
	return stored, nil
}

// ListUsers lists in UserId order. Like the API, it binds a filtered
// listing's cursors to its filter; and with scan set it evaluates at most
// scan items per filtered call, as the DynamoDB store bounds its work, so
// that pages come back short or empty with a cursor.
func (f *fakeUsers) ListUsers(ctx context.Context, token string, q client.ListQuery) (client.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, token)
	f.queries = append(f.queries, q)
	if f.fail != nil {
		return client.Page{}, f.fail
	}
	cursor := q.Cursor
	if q.CreatedBy != "" && cursor != "" {
		var ok bool
		if cursor, ok = strings.CutPrefix(cursor, q.CreatedBy+"/"); !ok {
			return client.Page{}, &client.Error{Status: 400, Message: `query parameter "cursor" is not a cursor this API issued for this listing`}
		}
	}
	var ids []string
	for id := range f.items {
		if id > cursor {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var p client.Page
	next := func(id string) string {
		if q.CreatedBy != "" {
			return q.CreatedBy + "/" + id
		}
		return id
	}
	for i, id := range ids {
		if q.CreatedBy != "" && f.scan > 0 && i == f.scan {
			p.Cursor = next(ids[i-1])
			break
		}
		if by, _ := f.items[id]["CreatedBy"].(string); q.CreatedBy != "" && by != q.CreatedBy {
			continue
		}
		if len(p.Users) == q.Limit {
			p.Cursor = next(ids[i-1])
			break
		}
		p.Users = append(p.Users, f.items[id])
	}
	return p, nil
}

type harness struct {
	t        testing.TB
	prov     *testProvider
	users    *fakeUsers
	clock    *clock
	sessions *session.Store
	srv      *httptest.Server
	url      string
	logs     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, users: newFakeUsers(), clock: &clock{now: time.Now()}, logs: &syncBuffer{}}
	h.prov = newTestProvider(t, "portal", "s3cret", h.clock.Now)
	var err error
	h.sessions, err = session.Open(filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.sessions.Close() })
	h.srv = httptest.NewUnstartedServer(nil)
	h.url = "http://" + h.srv.Listener.Addr().String()
	p, err := portal.NewServer(portal.Config{
		URL:          h.url,
		Issuer:       h.prov.issuer(),
		ClientID:     "portal",
		ClientSecret: "s3cret",
		Users:        h.users,
		Sessions:     h.sessions,
		Log:          slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          h.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Config.Handler = p
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	return h
}

// browser returns a client with its own cookie jar that follows redirects,
// as a browser does.
func (h *harness) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

type page struct {
	status int
	body   string
	url    *url.URL
	header http.Header
}

func (h *harness) do(c *http.Client, req *http.Request) page {
	h.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b), resp.Request.URL, resp.Header}
}

func (h *harness) get(c *http.Client, path string) page {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.url+path, nil)
	return h.do(c, req)
}

func (h *harness) post(c *http.Client, path string, form url.Values) page {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// What a browser sends with a form of the same origin.
	req.Header.Set("Origin", h.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return h.do(c, req)
}

// signIn signs u in with a new browser and returns it.
func (h *harness) signIn(u testUser) *http.Client {
	h.t.Helper()
	h.prov.setUser(u)
	c := h.browser()
	p := h.get(c, "/auth/login")
	if p.status != 200 || p.url.Path != "/" || !strings.Contains(p.body, "Sign out") {
		h.t.Fatalf("sign-in ended at %s with %d:\n%s", p.url, p.status, p.body)
	}
	return c
}

func (h *harness) cookie(c *http.Client) *http.Cookie {
	u, _ := url.Parse(h.url)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "__Host-portal-session" {
			return ck
		}
	}
	return nil
}

var (
	ada   = testUser{sub: "sub-ada", email: "ada@example.com", username: "sub-ada"}
	admin = testUser{sub: "sub-admin", email: "admin@example.com", username: "sub-admin", groups: []string{"admins"}}
)

func mustContain(t *testing.T, p page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Errorf("page %s (%d) lacks %q:\n%s", p.url, p.status, w, p.body)
		}
	}
}

func mustNotContain(t *testing.T, p page, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(p.body, w) {
			t.Errorf("page %s (%d) contains %q", p.url, p.status, w)
		}
	}
}
