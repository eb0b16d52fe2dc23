package portal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/usersvc/usersvc/api/dynamo/dynalite"
	"github.com/usersvc/usersvc/web/portal"
	"github.com/usersvc/usersvc/web/portal/lambdahttp"
	"github.com/usersvc/usersvc/web/portal/session"
	"github.com/usersvc/usersvc/web/portal/session/dynamo"
)

func TestMain(m *testing.M) { dynalite.Main(m) }

// dynamoMeter sits between a DynamoDB client and dynalite: it counts the
// operations by name and, when told to, answers every request as a
// throttled DynamoDB would.
type dynamoMeter struct {
	mu  sync.Mutex
	ops map[string]int
	// fault, when set, is how every request fails: "throttled" (400
	// ThrottlingException), "error" (500), "down" (no connection).
	fault atomic.Value // string
	// only, when set, is the one operation the fault hits ("PutItem"):
	// a failure between the two requests of a rotation, say.
	only atomic.Value // string
	// accepted counts the writes DynamoDB accepted (a refused conditional
	// write changes nothing).
	accepted atomic.Int64
	// gate, when set, holds each GetItem's answer until all the GetItems
	// it waits for have been answered: requests that all read a session
	// before any of them writes it.
	gate atomic.Pointer[barrier]
}

// barrier releases its first n arrivals together; later ones pass.
type barrier struct {
	mu   sync.Mutex
	left int
	open chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{left: n, open: make(chan struct{})} }

func (b *barrier) arrive() {
	b.mu.Lock()
	if b.left == 0 {
		b.mu.Unlock()
		return
	}
	b.left--
	if b.left == 0 {
		close(b.open)
	}
	b.mu.Unlock()
	<-b.open
}

func (m *dynamoMeter) RoundTrip(r *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	m.mu.Lock()
	m.ops[op]++
	m.mu.Unlock()
	f, _ := m.fault.Load().(string)
	if only, _ := m.only.Load().(string); only != "" && only != op {
		f = ""
	}
	switch f {
	case "throttled":
		body := `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`
		return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	case "error":
		body := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`
		return &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	case "down":
		return nil, errors.New("dial tcp 127.0.0.1:8000: connect: connection refused")
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusOK && (op == "PutItem" || op == "UpdateItem" || op == "DeleteItem") {
		m.accepted.Add(1)
	}
	if b := m.gate.Load(); b != nil && op == "GetItem" {
		b.arrive()
	}
	return resp, err
}

// take returns the counts so far and starts again.
func (m *dynamoMeter) take() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	ops := m.ops
	m.ops = map[string]int{}
	return ops
}

func writes(ops map[string]int) int { return ops["PutItem"] + ops["UpdateItem"] + ops["DeleteItem"] }

var awsTables atomic.Int64

// awsHarness is the portal as it runs on AWS: several instances (separate
// portal.Server values, each with its own DynamoDB client) sharing one
// sessions table on dynalite, each behind lambdahttp, with a front server
// that turns browser requests into payload 2.0 events as API Gateway does
// and hands them to the instances in turn.
type awsHarness struct {
	*harness
	meter     *dynamoMeter
	table     string
	raw       *dynamodb.Client
	endpoint  string
	mu        sync.Mutex
	instances []lambdahttp.Handler
	next      atomic.Int64
}

// replace retires every instance and starts n new ones, as Lambda does
// when it recycles its execution environments.
func (a *awsHarness) replace(n int) {
	var fresh []lambdahttp.Handler
	for range n {
		c := dynamodb.New(dynamodb.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(a.endpoint),
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
			HTTPClient:  &http.Client{Transport: a.meter},
		}, func(o *dynamodb.Options) { o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond) })
		log := slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		p, err := portal.NewServer(portal.Config{
			URL: a.url, Issuer: a.prov.issuer(), ClientID: "portal", ClientSecret: "s3cret",
			Users: a.users, Sessions: dynamo.New(c, a.table), Log: log, Now: a.clock.Now,
		})
		if err != nil {
			a.t.Fatal(err)
		}
		fresh = append(fresh, lambdahttp.New(p, log))
	}
	a.mu.Lock()
	a.instances = fresh
	a.mu.Unlock()
}

func newAWSHarness(t testing.TB, instances int) *awsHarness {
	t.Helper()
	endpoint := dynalite.URL(t)
	h := &harness{t: t, users: newFakeUsers(), clock: &clock{now: time.Now()}, logs: &syncBuffer{}}
	h.prov = newTestProvider(t, "portal", "s3cret", h.clock.Now)
	a := &awsHarness{harness: h, meter: &dynamoMeter{ops: map[string]int{}}, table: fmt.Sprintf("portal-%d", awsTables.Add(1))}
	a.raw = dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamo.New(a.raw, a.table).EnsureTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(a.front))
	h.url = "http://" + h.srv.Listener.Addr().String()
	a.endpoint = endpoint
	a.replace(instances)
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	return a
}

// front is API Gateway: the request as a payload 2.0 event (cookies in
// cookies, the body base64), to the next instance, and its response back.
func (a *awsHarness) front(w http.ResponseWriter, r *http.Request) {
	ev := toEvent(r)
	a.mu.Lock()
	fn := a.instances[int(a.next.Add(1))%len(a.instances)]
	a.mu.Unlock()
	resp, err := fn(r.Context(), ev)
	if err != nil {
		http.Error(w, "Internal Server Error", 500)
		return
	}
	writeResponse(w, resp)
}

func toEvent(r *http.Request) events.APIGatewayV2HTTPRequest {
	body, _ := io.ReadAll(r.Body)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{"host": r.Host, "x-forwarded-proto": "http"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: strings.Split(r.Host, ":")[0], RequestID: "req", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, SourceIP: "127.0.0.1", Protocol: "HTTP/1.1"},
		},
	}
	for k, vs := range r.Header {
		if k == "Cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					ev.Cookies = append(ev.Cookies, strings.TrimSpace(c))
				}
			}
			continue
		}
		ev.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if len(body) > 0 {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return ev
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	w.WriteHeader(resp.StatusCode)
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		body, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	w.Write(body)
}

// items is how many items the sessions table holds.
func (a *awsHarness) items(t *testing.T) int {
	t.Helper()
	out, err := a.raw.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(a.table)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Items)
}

func noFollow(c *http.Client) *http.Client {
	d := *c
	d.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &d
}

// TestTwoInstances: two portals that share nothing but the sessions table
// serve one browser's requests in turn, through sign-in, create, look up,
// Users, refresh and sign-out.
func TestTwoInstances(t *testing.T) {
	a := newAWSHarness(t, 2)
	a.prov.expiresIn = 600
	c := a.signIn(admin) // /auth/login on one instance, the callback on the other
	if n := a.items(t); n != 1 {
		t.Fatalf("%d items after one sign-in", n)
	}
	for i := range 3 {
		p := a.get(c, "/profile")
		if p.status != 200 || !strings.Contains(p.body, "admin@example.com") {
			t.Fatalf("profile %d: %d", i, p.status)
		}
	}

	form := url.Values{"UserId": {"ada"}, "name": {"Name"}, "type": {"string"}, "value": {"Ada"}}
	p := a.post(c, "/user/new", form)
	if p.status != 200 || p.url.Path != "/user" {
		t.Fatalf("create ended at %s with %d:\n%s", p.url, p.status, p.body)
	}
	mustContain(t, p, "Created user ada.", "Ada")
	mustNotContain(t, a.get(c, "/user?UserId=ada"), "Created user ada.") // the flash was taken once, across instances

	for i := range 30 {
		a.users.items[fmt.Sprintf("u%02d", i)] = map[string]any{"UserId": fmt.Sprintf("u%02d", i)}
	}
	users := a.get(c, "/admin/users")
	mustContain(t, users, "u00", `href="/admin/users?cursor=`)
	i := strings.Index(users.body, `href="/admin/users?cursor=`)
	next := users.body[i+len(`href="`):]
	next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
	page2 := a.get(c, next)
	mustContain(t, page2, `href="/admin/users"`) // Previous, remembered in the session by the other instance

	// Every instance is replaced: the session lives on.
	a.replace(2)
	if p := a.get(c, "/profile"); p.status != 200 || !strings.Contains(p.body, "admin@example.com") {
		t.Fatalf("profile on new instances: %d", p.status)
	}
	// A sign-in started on retired instances completes on new ones.
	other, cb := stopAtCallback(t, a.harness)
	a.replace(2)
	u, _ := url.Parse(cb)
	if p := a.get(other, u.RequestURI()); p.status != 200 || !strings.Contains(p.body, "Sign out") {
		t.Fatalf("callback on new instances: %d", p.status)
	}

	// Refresh: the access token is near expiry, the next page renews it.
	a.clock.Add(9 * time.Minute)
	before := a.prov.refreshes
	if p := a.get(c, "/user?UserId=ada"); p.status != 200 {
		t.Fatalf("lookup after 9 minutes: %d", p.status)
	}
	if a.prov.refreshes == before {
		t.Error("no refresh")
	}
	if p := a.get(c, "/user?UserId=ada"); p.status != 200 {
		t.Fatalf("lookup after refresh, on the other instance: %d", p.status)
	}

	out := a.post(c, "/auth/logout", nil)
	mustContain(t, out, "You have signed out.", ">Sign in<")
	if n := a.items(t); n != 1 {
		t.Errorf("%d items after sign-out; want only the other browser's", n)
	}
	if len(a.prov.revoked) != 1 {
		t.Errorf("%d refresh tokens revoked", len(a.prov.revoked))
	}
	if p := noFollowGet(a.harness, c, "/profile"); p.status != http.StatusSeeOther {
		t.Errorf("after sign-out /profile answered %d", p.status)
	}
}

func noFollowGet(h *harness, c *http.Client, path string) page {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.url+path, nil)
	return h.do(noFollow(c), req)
}

// TestStoreCost: a page view costs one GetItem at most, and writes nothing
// within a minute of the last write; anonymous pages and sign-in starts
// touch the table not at all.
func TestStoreCost(t *testing.T) {
	a := newAWSHarness(t, 2)
	anon := a.browser()
	a.meter.take()
	a.get(anon, "/")
	noFollowGet(a.harness, anon, "/auth/login?return_to=/profile")
	if ops := a.meter.take(); len(ops) != 0 {
		t.Errorf("anonymous requests used the table: %v", ops)
	}

	c := a.signIn(ada)
	a.users.items["x"] = map[string]any{"UserId": "x"}
	a.get(c, "/") // takes the sign-in flash
	a.meter.take()
	for _, path := range []string{"/", "/profile", "/user?UserId=x", "/user/new"} {
		p := noFollowGet(a.harness, c, path)
		ops := a.meter.take()
		if p.status != 200 || ops["GetItem"] != 1 || writes(ops) != 0 {
			t.Errorf("%s: %d, operations %v; want one GetItem and no write", path, p.status, ops)
		}
	}
	a.clock.Add(2 * time.Minute)
	noFollowGet(a.harness, c, "/")
	if ops := a.meter.take(); ops["GetItem"] != 1 || ops["PutItem"] != 1 {
		t.Errorf("first view after two minutes: %v; want one GetItem and one PutItem (last use)", ops)
	}
}

// TestStoreDown: with DynamoDB throttling, failing or unreachable on
// every request, pages that need the session answer the friendly 503 with
// a request id, and nothing is half-done: no session created at the
// callback, none deleted (nor its token revoked) at sign-out, no user
// created.
func TestStoreDown(t *testing.T) {
	for _, fault := range []string{"throttled", "error", "down"} {
		t.Run(fault, func(t *testing.T) { testStoreDown(t, fault) })
	}
}

func testStoreDown(t *testing.T, fault string) {
	a := newAWSHarness(t, 2)
	c := a.signIn(ada)

	a.meter.fault.Store(fault)
	for _, path := range []string{"/", "/profile", "/user?UserId=x"} {
		p := a.get(c, path)
		if p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") == "" {
			t.Errorf("%s: %d, Retry-After %q", path, p.status, p.header.Get("Retry-After"))
		}
		mustContain(t, p, "The portal is busy", "request id")
		mustNotContain(t, p, "Throttling", "dynamodb", "DynamoDB", "InternalServerError", "refused")
	}
	if p := a.post(c, "/user/new", url.Values{"UserId": {"nope"}}); p.status != http.StatusServiceUnavailable {
		t.Errorf("create: %d", p.status)
	}
	if _, ok := a.users.items["nope"]; ok {
		t.Error("a user was created while the session could not be read")
	}
	if p := a.post(c, "/auth/logout", nil); p.status != http.StatusServiceUnavailable {
		t.Errorf("sign-out: %d", p.status)
	}
	if len(a.prov.revoked) != 0 {
		t.Error("the refresh token was revoked though the session was not deleted")
	}
	// A new browser's sign-in gets as far as the callback, which cannot
	// store its session.
	fresh := a.browser()
	if p := a.get(fresh, "/auth/login"); p.status != http.StatusServiceUnavailable {
		t.Errorf("callback: %d", p.status)
	}

	a.meter.fault.Store("")
	if n := a.items(t); n != 1 {
		t.Errorf("%d items after the outage; want the one session", n)
	}
	if p := a.get(c, "/profile"); p.status != 200 {
		t.Errorf("after the outage, the session: %d", p.status)
	}
	if p := a.get(fresh, "/"); strings.Contains(p.body, "Sign out") || a.cookie(fresh) != nil {
		t.Error("the failed callback left a session")
	}
}

// TestCallbackStoreFails: a signed-in browser signs in again (sign-up
// while signed in) and DynamoDB fails the new session's PutItem after
// Rotate has deleted the old one. The browser is told the truth (it is
// signed out), no session is left, and no refresh token the provider
// handed out stays live without a session to end it.
func TestCallbackStoreFails(t *testing.T) {
	for _, fault := range []string{"throttled", "error", "down"} {
		t.Run(fault, func(t *testing.T) {
			a := newAWSHarness(t, 2)
			c := a.signIn(ada)
			a.meter.only.Store("PutItem")
			a.meter.fault.Store(fault)
			p := a.get(c, "/auth/signup")
			a.meter.fault.Store("")
			if p.status != http.StatusServiceUnavailable {
				t.Errorf("callback: %d", p.status)
			}
			mustContain(t, p, "signed out", "request id")
			mustNotContain(t, p, "Nothing was changed")
			if n := a.items(t); n != 0 {
				t.Errorf("%d items after the failed callback", n)
			}
			a.prov.mu.Lock()
			live := len(a.prov.refresh)
			a.prov.mu.Unlock()
			if live != 0 {
				t.Errorf("%d refresh tokens live at the provider with no session to hold them", live)
			}
			if a.cookie(c) != nil {
				t.Error("the browser kept a session cookie")
			}
			if p := a.get(c, "/"); strings.Contains(p.body, "Sign out") {
				t.Error("the browser is still signed in")
			}
		})
	}
}

// TestExpiredItemRevoked: an item past expires_at that the TTL has not yet
// removed is treated as absent: deleted, its refresh token revoked, the
// browser sent to sign in.
func TestExpiredItemRevoked(t *testing.T) {
	a := newAWSHarness(t, 2)
	c := a.signIn(ada)
	a.clock.Add(31 * time.Minute)
	if p := noFollowGet(a.harness, c, "/profile"); p.status != http.StatusSeeOther {
		t.Errorf("expired session: %d", p.status)
	}
	if n := a.items(t); n != 0 {
		t.Errorf("%d items left", n)
	}
	if len(a.prov.revoked) != 1 {
		t.Errorf("%d refresh tokens revoked, want 1", len(a.prov.revoked))
	}
}

// BenchmarkLookupLambda is a whole Look up request as the portal function
// serves it: a payload 2.0 event in, through the adapter, the page out,
// with the API answering at once and the session on bbolt.
func BenchmarkLookupLambda(b *testing.B) {
	h := newHarness(b)
	c := h.signIn(ada)
	h.get(c, "/") // takes the sign-in flash
	h.users.items["ada"] = map[string]any{"UserId": "ada", "Name": "Ada", "Tags": []any{"x", "y"}, "Address": map[string]any{"City": "London"}}
	req := httptest.NewRequest("GET", h.url+"/user?UserId=ada", nil)
	u, _ := url.Parse(h.url)
	for _, ck := range c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	ev := toEvent(req)
	fn := lambdahttp.New(h.srv.Config.Handler, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := fn(ctx, ev)
		if err != nil || resp.StatusCode != 200 || !bytes.Contains([]byte(resp.Body), []byte("London")) {
			b.Fatalf("%d %v", resp.StatusCode, err)
		}
	}
}

// TestTamperedOnDynamo: a malformed session cookie costs no read, a
// well-formed one the table does not hold costs one GetItem and no write;
// both are cleared and sent to sign in.
func TestTamperedOnDynamo(t *testing.T) {
	a := newAWSHarness(t, 2)
	c := a.signIn(ada)
	genuine := a.cookie(c).Value
	for _, tt := range []struct {
		value string
		gets  int
	}{
		{genuine[:len(genuine)-1] + "A", 1},
		{session.NewID(), 1},
		{"x", 0},
		{genuine + "=", 0},
	} {
		if tt.value == genuine {
			continue
		}
		req, _ := http.NewRequest("GET", a.url+"/profile", nil)
		req.AddCookie(&http.Cookie{Name: "__Host-portal-session", Value: tt.value})
		a.meter.take()
		p := a.do(noFollow(http.DefaultClient), req)
		ops := a.meter.take()
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/auth/login") || ops["GetItem"] != tt.gets || writes(ops) != 0 {
			t.Errorf("cookie %q: %d to %q, operations %v", tt.value, p.status, p.header.Get("Location"), ops)
		}
	}
	if p := a.get(c, "/profile"); p.status != 200 {
		t.Errorf("the genuine cookie: %d", p.status)
	}
}

// TestClientGone: a client that went away while the portal read its
// session (the request's context cancelled) is no failure of the portal's:
// the access log records 499 at INFO, and nothing is logged as an ERROR
// or answered 500, on bbolt and on DynamoDB alike.
func TestClientGone(t *testing.T) {
	for _, store := range []string{"bolt", "dynamo"} {
		t.Run(store, func(t *testing.T) {
			var (
				h     *harness
				serve func(ctx context.Context, req *http.Request) int
			)
			if store == "bolt" {
				h = newHarness(t)
				serve = func(ctx context.Context, req *http.Request) int {
					rec := httptest.NewRecorder()
					h.srv.Config.Handler.ServeHTTP(rec, req.WithContext(ctx))
					return rec.Code
				}
			} else {
				a := newAWSHarness(t, 1)
				h = a.harness
				serve = func(ctx context.Context, req *http.Request) int {
					resp, err := a.instances[0](ctx, toEvent(req))
					if err != nil {
						t.Fatal(err)
					}
					return resp.StatusCode
				}
			}
			c := h.signIn(ada)
			req := httptest.NewRequest("GET", h.url+"/profile", nil)
			req.AddCookie(h.cookie(c))
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if status := serve(ctx, req); status != 499 {
				t.Errorf("status %d, want 499", status)
			}
			logs := h.logs.String()
			if strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "status=500") {
				t.Errorf("a client that went away was logged as the portal's error:\n%s", logs)
			}
			if !regexp.MustCompile(`level=INFO msg=request .*status=499`).MatchString(logs) {
				t.Errorf("no INFO request line with status 499:\n%s", logs)
			}
		})
	}
}

// TestConcurrentViewsWriteOnce: two page views of one browser, a minute
// after its last, both read the session before either records its use.
// The one whose write loses the race finds the use recorded and writes
// nothing: one write for the two.
func TestConcurrentViewsWriteOnce(t *testing.T) {
	a := newAWSHarness(t, 2)
	c := a.signIn(ada)
	a.clock.Add(2 * time.Minute)
	a.clock.tick(time.Second)
	a.meter.accepted.Store(0)
	a.meter.gate.Store(newBarrier(2))
	pages := make(chan page, 2)
	for range 2 {
		go func() {
			req, _ := http.NewRequest("GET", a.url+"/", nil)
			resp, err := c.Do(req)
			if err != nil {
				pages <- page{}
				return
			}
			resp.Body.Close()
			pages <- page{status: resp.StatusCode}
		}()
	}
	for range 2 {
		if p := <-pages; p.status != 200 {
			t.Errorf("page view: %d", p.status)
		}
	}
	if n := a.meter.accepted.Load(); n != 1 {
		t.Errorf("%d writes for two page views in the same minute, want 1", n)
	}
}
