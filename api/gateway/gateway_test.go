package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/gateway"
	"github.com/usersvc/usersvc/api/gateway/internal/testissuer"
)

var (
	alice = testissuer.User{Sub: "11111111-2222-4333-8444-555555555555", Username: "alice", Email: "alice@example.com", Groups: []string{"admins", "editors"}}
	bob   = testissuer.User{Sub: "66666666-7777-4888-9999-000000000000", Username: "bob", Email: "bob@example.com"}
)

// recorder is a fake Lambda function that records the events it gets.
type recorder struct {
	calls  atomic.Int64
	mu     sync.Mutex
	events []events.APIGatewayV2HTTPRequest
	reply  func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

func (r *recorder) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	r.calls.Add(1)
	r.mu.Lock()
	r.events = append(r.events, req)
	r.mu.Unlock()
	if r.reply != nil {
		return r.reply(req)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":true}`}, nil
}

func (r *recorder) last(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		t.Fatal("handler never called")
	}
	return r.events[len(r.events)-1]
}

type fixture struct {
	iss *testissuer.Issuer
	clk *testissuer.Clock
	fn  *recorder
	gw  *gateway.Gateway
	log *bytes.Buffer
}

// newFixture serves api.Routes with one recording fake function behind
// every route.
func newFixture(t *testing.T, mut ...func(*gateway.Config)) *fixture {
	t.Helper()
	f := &fixture{iss: testissuer.New(t), clk: testissuer.NewClock(time.Now().Truncate(time.Second)), fn: &recorder{}, log: &bytes.Buffer{}}
	cfg := gateway.Config{
		Routes: api.Routes,
		Handler: func(string) (api.HandlerFunc, bool) {
			return f.fn.handle, true
		},
		Issuer:     f.iss.URL,
		Audience:   []string{"portal"},
		HTTPClient: f.iss.Client(),
		Now:        f.clk.Now,
		AccessLog:  &syncWriter{w: f.log},
	}
	for _, m := range mut {
		m(&cfg)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.gw = gw
	return f
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (f *fixture) idToken(t *testing.T, u testissuer.User) string {
	return f.iss.Sign(t, f.iss.IDToken(u, "portal", f.clk.Now()))
}

func (f *fixture) do(t *testing.T, method, target, token string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.gw.ServeHTTP(w, r)
	return w
}

func assertAnswer(t *testing.T, w *httptest.ResponseRecorder, status int, message string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d (body %s)", w.Code, status, w.Body)
	}
	if want := `{"message":"` + message + `"}`; w.Body.String() != want {
		t.Errorf("body = %s, want %s", w.Body, want)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type = %q", ct)
	}
}

// b64 and the helpers below forge tokens for the attack table.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func segments(tok string) []string { return strings.Split(tok, ".") }

func TestAttackTable(t *testing.T) {
	f := newFixture(t)
	now := f.clk.Now()
	good := f.iss.IDToken(alice, "portal", now)
	valid := f.iss.Sign(t, good)
	with := func(k string, v any) map[string]any {
		c := f.iss.IDToken(alice, "portal", now)
		c[k] = v
		return c
	}
	payload, _ := json.Marshal(good)

	hs256 := func() string {
		// The classic confusion: HS256 keyed with the issuer's public key.
		pub, _ := json.Marshal(jose.JSONWebKey{Key: &f.iss.SigningKey().Key.PublicKey})
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pub},
			(&jose.SignerOptions{}).WithHeader("kid", f.iss.SigningKey().ID))
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := signer.Sign(payload)
		s, _ := jws.CompactSerialize()
		return s
	}()
	flipped := func() string {
		s := segments(valid)
		sig, _ := base64.RawURLEncoding.DecodeString(s[2])
		sig[len(sig)/2] ^= 0x01
		return s[0] + "." + s[1] + "." + b64(sig)
	}()
	modified := func() string {
		s := segments(valid)
		evil := f.iss.IDToken(bob, "portal", now)
		evil["cognito:groups"] = []string{"admins"}
		p, _ := json.Marshal(evil)
		return s[0] + "." + b64(p) + "." + s[2]
	}()
	none := b64([]byte(`{"alg":"none","kid":"key-1","typ":"JWT"}`)) + "." + b64(payload) + "."
	foreign := testissuer.SignWith(t, testissuer.NewKeyCached(t), good) // kid key-1, another key
	rs512 := func() string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS512, Key: f.iss.SigningKey().Key},
			(&jose.SignerOptions{}).WithHeader("kid", f.iss.SigningKey().ID))
		jws, _ := signer.Sign(payload)
		s, _ := jws.CompactSerialize()
		return s
	}()
	noKid := func() string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: f.iss.SigningKey().Key}, nil)
		jws, _ := signer.Sign(payload)
		s, _ := jws.CompactSerialize()
		return s
	}()
	otherClient := f.iss.Sign(t, f.iss.AccessToken(alice, "someone-else", "openid", now))
	embeddedJWK := func() string {
		// The attacker's own public key in the header must not be trusted.
		k := testissuer.NewKeyCached(t)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.Key},
			(&jose.SignerOptions{EmbedJWK: true}).WithHeader("kid", "key-1"))
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := signer.Sign(payload)
		s, _ := jws.CompactSerialize()
		return s
	}()

	tests := []struct {
		name   string
		header string // Authorization header; "-" for none
		query  string
		desc   string // expected error_description, "" to skip
	}{
		{"no header", "-", "", "the token is missing"},
		{"empty", "", "", "the token is missing"},
		{"bearer only", "Bearer ", "", "the token is missing"},
		{"garbage", "Bearer garbage", "", "the token is malformed"},
		{"three garbage segments", "Bearer a.b.c", "", "the token is malformed"},
		{"alg none", "Bearer " + none, "", "the token signing algorithm is not supported"},
		{"HS256 with the public key", "Bearer " + hs256, "", "the token signing algorithm is not supported"},
		{"RS512", "Bearer " + rs512, "", "the token signing algorithm is not supported"},
		{"no kid", "Bearer " + noKid, "", "the token has no kid"},
		{"unknown key with a known kid", "Bearer " + foreign, "", "the token signature is invalid"},
		{"attacker's key embedded in the header", "Bearer " + embeddedJWK, "", ""},
		{"flipped signature byte", "Bearer " + flipped, "", "the token signature is invalid"},
		{"modified payload", "Bearer " + modified, "", "the token signature is invalid"},
		{"wrong iss", "Bearer " + f.iss.Sign(t, with("iss", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")), "", "the token does not have a valid issuer"},
		{"wrong aud", "Bearer " + f.iss.Sign(t, with("aud", "someone-else")), "", "the token does not have a valid audience"},
		{"access token of another client", "Bearer " + otherClient, "", "the token does not have a valid audience"},
		{"expired", "Bearer " + f.iss.Sign(t, with("exp", now.Add(-time.Minute).Unix())), "", "the token has expired"},
		{"not yet valid", "Bearer " + f.iss.Sign(t, with("nbf", now.Add(time.Minute).Unix())), "", "the token is not valid yet"},
		{"token in the query string only", "-", "&access_token=" + valid + "&token=" + valid, "the token is missing"},
		{"JSON serialization", "Bearer " + `{"payload":"` + segments(valid)[1] + `","protected":"` + segments(valid)[0] + `","signature":"` + segments(valid)[2] + `"}`, "", "the token is malformed"},
		{"two tokens", "Bearer " + valid + " " + valid, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.fn.calls.Load()
			r := httptest.NewRequest("GET", "/user?UserId=alice"+tt.query, nil)
			if tt.header != "-" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			f.gw.ServeHTTP(w, r)
			assertAnswer(t, w, http.StatusUnauthorized, "Unauthorized")
			if f.fn.calls.Load() != before {
				t.Fatal("the function was called")
			}
			ch := challenge(w)
			if !strings.HasPrefix(ch, `Bearer scope="" error="invalid_token" error_description="`) {
				t.Errorf("www-authenticate = %q", ch)
			}
			if tt.desc != "" && !strings.HasSuffix(ch, `error_description="`+tt.desc+`"`) {
				t.Errorf("www-authenticate = %q, want description %q", ch, tt.desc)
			}
		})
	}

	t.Run("the valid token passes", func(t *testing.T) {
		w := f.do(t, "GET", "/user?UserId=alice", valid, nil)
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

func TestValidTokensReachTheFunctionWithRenderedClaims(t *testing.T) {
	f := newFixture(t)
	now := f.clk.Now()
	t.Run("id token", func(t *testing.T) {
		w := f.do(t, "GET", "/user?UserId=alice", f.idToken(t, alice), nil)
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		ev := f.fn.last(t)
		jwt := ev.RequestContext.Authorizer.JWT
		want := map[string]string{
			"sub":              alice.Sub,
			"cognito:groups":   "[admins editors]",
			"email_verified":   "true",
			"token_use":        "id",
			"aud":              "portal",
			"cognito:username": "alice",
			"iss":              f.iss.URL,
			"exp":              jsonNum(now.Add(time.Hour).Unix()),
			"auth_time":        jsonNum(now.Unix()),
		}
		for k, v := range want {
			if jwt.Claims[k] != v {
				t.Errorf("claim %s = %q, want %q", k, jwt.Claims[k], v)
			}
		}
		if jwt.Scopes != nil {
			t.Errorf("scopes = %v, want null", jwt.Scopes)
		}
	})
	t.Run("access token", func(t *testing.T) {
		tok := f.iss.Sign(t, f.iss.AccessToken(bob, "portal", "openid email", now))
		w := f.do(t, "GET", "/user?UserId=bob", tok, nil)
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		c := f.fn.last(t).RequestContext.Authorizer.JWT.Claims
		if c["client_id"] != "portal" || c["scope"] != "openid email" || c["token_use"] != "access" {
			t.Errorf("claims = %v", c)
		}
		if _, ok := c["cognito:groups"]; ok {
			t.Errorf("bob has no groups, got %q", c["cognito:groups"])
		}
	})
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestRouting(t *testing.T) {
	f := newFixture(t)
	tok := f.idToken(t, alice)
	tests := []struct {
		method, target string
		status         int
		routeKey       string
	}{
		{"GET", "/user?UserId=a", 200, "GET /user"},
		{"POST", "/user", 200, "POST /user"},
		{"GET", "/users", 200, "GET /users"},
		{"DELETE", "/user", 404, ""},
		{"PUT", "/users", 404, ""},
		{"GET", "/nope", 404, ""},
		{"GET", "/user/", 404, ""},
		{"GET", "/User", 404, ""},
		{"GET", "/$default/user", 404, ""},
		{"OPTIONS", "/user", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			before := f.fn.calls.Load()
			w := f.do(t, tt.method, tt.target, tok, strings.NewReader(`{}`))
			if tt.status == 404 {
				assertAnswer(t, w, 404, "Not Found")
				if f.fn.calls.Load() != before {
					t.Error("function called")
				}
				return
			}
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			if got := f.fn.last(t).RouteKey; got != tt.routeKey {
				t.Errorf("routeKey = %q, want %q", got, tt.routeKey)
			}
		})
	}
	t.Run("unknown route without a token is 404, not 401", func(t *testing.T) {
		assertAnswer(t, f.do(t, "GET", "/nope", "", nil), 404, "Not Found")
	})
}

func TestPathParameters(t *testing.T) {
	fn := &recorder{}
	f := newFixture(t, func(c *gateway.Config) {
		c.Routes = []api.Route{{Key: "GET /items/{id}", Function: "item"}, {Key: "GET /files/{path+}", Function: "file"}, {Key: "GET /items/special", Function: "special"}}
		c.Handler = func(string) (api.HandlerFunc, bool) { return fn.handle, true }
	})
	tok := f.idToken(t, alice)
	for target, want := range map[string]string{
		"/items/42":      `{"id":"42"}`,
		"/files/a/b/c":   `{"path":"a/b/c"}`,
		"/items/special": `null`,
	} {
		w := f.do(t, "GET", target, tok, nil)
		if w.Code != 200 {
			t.Fatalf("%s: status %d", target, w.Code)
		}
		got, _ := json.Marshal(fn.last(t).PathParameters)
		if string(got) != want {
			t.Errorf("%s: pathParameters = %s, want %s", target, got, want)
		}
	}
	for _, target := range []string{"/items", "/items/", "/items/1/2", "/files/"} {
		assertAnswer(t, f.do(t, "GET", target, tok, nil), 404, "Not Found")
	}
}

func TestIntegrationFailures(t *testing.T) {
	tests := []struct {
		name    string
		fn      any
		status  int
		message string
	}{
		{"function error", func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, errors.New("secret internals: db password wrong")
		}, 500, "Internal Server Error"},
		{"function panic", func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			panic("secret internals")
		}, 500, "Internal Server Error"},
		{"not JSON", rawFunc(`{"statusCode":200,`), 500, "Internal Server Error"},
		{"status out of range", rawFunc(`{"statusCode":999}`), 500, "Internal Server Error"},
		{"status not a number", rawFunc(`{"statusCode":"200"}`), 500, "Internal Server Error"},
		{"bad base64 body", rawFunc(`{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`), 500, "Internal Server Error"},
		{"header with a newline", rawFunc(`{"statusCode":200,"headers":{"X-A":"a\nb"}}`), 500, "Internal Server Error"},
		{"timeout", func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond)
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
		}, 503, "Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *gateway.Config) {
				c.Functions = map[string]any{"get_user": tt.fn}
				c.RouteTimeouts = map[string]time.Duration{"GET /user": 50 * time.Millisecond}
			})
			w := f.do(t, "GET", "/user?UserId=a", f.idToken(t, alice), nil)
			assertAnswer(t, w, tt.status, tt.message)
			var line map[string]string
			if err := json.Unmarshal(f.log.Bytes(), &line); err != nil {
				t.Fatalf("access log %q: %v", f.log, err)
			}
			if line["integrationErrorMessage"] == "-" {
				t.Error("access log has no integration error message")
			}
		})
	}
}

// rawFunc is a function whose JSON output is out, verbatim.
type rawFunc string

func (r rawFunc) Invoke(context.Context, []byte) ([]byte, error) { return []byte(r), nil }

func TestBodyLimit(t *testing.T) {
	f := newFixture(t)
	tok := f.idToken(t, alice)
	big := bytes.Repeat([]byte("a"), gateway.MaxBodyBytes+1)
	assertAnswer(t, f.do(t, "POST", "/user", tok, bytes.NewReader(big)), 413, "Request Entity Too Large")
	// Without a Content-Length the limit holds while reading.
	r := httptest.NewRequest("POST", "/user", io.MultiReader(bytes.NewReader(big)))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	f.gw.ServeHTTP(w, r)
	assertAnswer(t, w, 413, "Request Entity Too Large")
	if f.fn.calls.Load() != 0 {
		t.Error("function called")
	}
	w = f.do(t, "POST", "/user", tok, bytes.NewReader(big[:gateway.MaxBodyBytes]))
	if w.Code != 200 {
		t.Errorf("10 MB exactly: status %d", w.Code)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	release := make(chan struct{})
	var inFlight, peak atomic.Int64
	f := newFixture(t, func(c *gateway.Config) {
		c.MaxConcurrency = 2
		c.Handler = func(string) (api.HandlerFunc, bool) {
			return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				n := inFlight.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				inFlight.Add(-1)
				return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
			}, true
		}
	})
	tok := f.idToken(t, alice)
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { codes <- f.do(t, "GET", "/user?UserId=a", tok, nil).Code })
	}
	// Wait until the two slots are taken and the rest have been refused.
	deadline := time.Now().Add(5 * time.Second)
	for len(codes) < n-2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[200] != 2 || count[429] != n-2 {
		t.Errorf("statuses = %v, want 2×200 and %d×429", count, n-2)
	}
	if peak.Load() > 2 {
		t.Errorf("peak concurrency %d, want at most 2", peak.Load())
	}
	// Other routes have their own limit, and the slots are free again.
	if w := f.do(t, "GET", "/user?UserId=a", tok, nil); w.Code != 200 {
		t.Errorf("after release: %d", w.Code)
	}
}

func TestThrottle(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) { c.Throttle = gateway.Throttle{Rate: 2, Burst: 3} })
	tok := f.idToken(t, alice)
	var got []int
	for range 5 {
		got = append(got, f.do(t, "GET", "/user?UserId=a", tok, nil).Code)
	}
	want := []int{200, 200, 200, 429, 429}
	if !equalInts(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	assertAnswer(t, f.do(t, "GET", "/user?UserId=a", tok, nil), 429, "Too Many Requests")
	f.clk.Add(time.Second) // two more tokens
	got = got[:0]
	for range 3 {
		got = append(got, f.do(t, "GET", "/user?UserId=a", tok, nil).Code)
	}
	if want := []int{200, 200, 429}; !equalInts(got, want) {
		t.Errorf("after a second: %v, want %v", got, want)
	}
}

func TestThrottleUnderConcurrency(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) { c.Throttle = gateway.Throttle{Rate: 1, Burst: 10} })
	tok := f.idToken(t, alice)
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			switch f.do(t, "GET", "/user?UserId=a", tok, nil).Code {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 || limited.Load() != 40 {
		t.Errorf("ok=%d limited=%d, want 10 and 40 (the clock stands still)", ok.Load(), limited.Load())
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestJWKSDownLetsNothingThrough(t *testing.T) {
	f := newFixture(t)
	f.iss.SetJWKSDown(true)
	tok := f.idToken(t, alice)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if w := f.do(t, "GET", "/user?UserId=a", tok, nil); w.Code != 401 {
				t.Errorf("status %d with the JWKS down", w.Code)
			}
		})
	}
	wg.Wait()
	if f.fn.calls.Load() != 0 {
		t.Fatal("function called with the JWKS down")
	}
	if n := f.iss.JWKSFetches(); n != 1 {
		t.Errorf("JWKS fetched %d times by 20 requests, want 1", n)
	}
}

func TestJWKSRotation(t *testing.T) {
	f := newFixture(t)
	if w := f.do(t, "GET", "/user?UserId=a", f.idToken(t, alice), nil); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	f.iss.Rotate(t, "key-2", true)
	f.clk.Add(2 * time.Minute)
	tok := f.idToken(t, alice) // signed by key-2
	if w := f.do(t, "GET", "/user?UserId=a", tok, nil); w.Code != 200 {
		t.Fatalf("new kid: status %d %s", w.Code, challenge(w))
	}
	old := testissuer.SignWith(t, testissuer.NewKeyCached(t), f.iss.IDToken(alice, "portal", f.clk.Now()))
	if w := f.do(t, "GET", "/user?UserId=a", old, nil); w.Code != 401 {
		t.Fatalf("retired kid: status %d", w.Code)
	}
}

func TestRequestAndResponseShapes(t *testing.T) {
	f := newFixture(t)
	f.fn.reply = func(req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{
			StatusCode:      201,
			Headers:         map[string]string{"Content-Type": "image/png", "X-Custom": "1"},
			Cookies:         []string{"a=1; Path=/", "b=2; HttpOnly"},
			Body:            base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0}),
			IsBase64Encoded: true,
		}, nil
	}
	r := httptest.NewRequest("POST", "/user?a=1&a=2&b=x%20y&c", bytes.NewReader([]byte{0xff, 0x00, 0x01}))
	r.Header.Set("Authorization", "Bearer "+f.idToken(t, alice))
	r.Header.Set("Content-Type", "application/octet-stream")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Add("Cookie", "c1=v1; c2=v2")
	w := httptest.NewRecorder()
	f.gw.ServeHTTP(w, r)
	if w.Code != 201 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	ev := f.fn.last(t)
	if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0x01}) {
		t.Errorf("binary body: isBase64Encoded=%v body=%q", ev.IsBase64Encoded, ev.Body)
	}
	if ev.Headers["x-multi"] != "one,two" {
		t.Errorf("x-multi = %q", ev.Headers["x-multi"])
	}
	if _, ok := ev.Headers["cookie"]; ok || strings.Join(ev.Cookies, "|") != "c1=v1|c2=v2" {
		t.Errorf("cookies = %q, headers[cookie] present = %v", ev.Cookies, ok)
	}
	if q := ev.QueryStringParameters; q["a"] != "1,2" || q["b"] != "x y" || q["c"] != "" {
		t.Errorf("queryStringParameters = %v", q)
	}
	if ev.RawQueryString != "a=1&a=2&b=x%20y&c" {
		t.Errorf("rawQueryString = %q", ev.RawQueryString)
	}
	if got := w.Body.Bytes(); !bytes.Equal(got, []byte{0x89, 'P', 'N', 'G', 0}) {
		t.Errorf("body = %x", got)
	}
	if sc := w.Header().Values("Set-Cookie"); strings.Join(sc, "|") != "a=1; Path=/|b=2; HttpOnly" {
		t.Errorf("set-cookie = %q", sc)
	}
	if w.Header().Get("X-Custom") != "1" || len(w.Header()["apigw-requestid"]) != 1 {
		t.Errorf("headers = %v", w.Header())
	}
}

func TestAccessLog(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) { c.RequestID = func() string { return "Mc7UVioPPHcEKPA=" } })
	f.do(t, "GET", "/user?UserId=a", f.idToken(t, alice), nil)
	f.do(t, "GET", "/nope", "", nil)
	lines := strings.Split(strings.TrimSpace(f.log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("access log = %q", f.log)
	}
	var ok, nf map[string]string
	json.Unmarshal([]byte(lines[0]), &ok)
	json.Unmarshal([]byte(lines[1]), &nf)
	want := map[string]string{
		"requestId": "Mc7UVioPPHcEKPA=", "sourceIp": "192.0.2.1", "requestTime": f.clk.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"),
		"protocol": "HTTP/1.1", "httpMethod": "GET", "resourcePath": "/user", "routeKey": "GET /user",
		"status": "200", "responseLength": "11", "integrationErrorMessage": "-",
	}
	if len(ok) != len(want) {
		t.Errorf("fields = %v", ok)
	}
	for k, v := range want {
		if ok[k] != v {
			t.Errorf("%s = %q, want %q", k, ok[k], v)
		}
	}
	if nf["status"] != "404" || nf["routeKey"] != "-" || nf["responseLength"] != "23" {
		t.Errorf("404 line = %v", nf)
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) {
		c.CORS = &gateway.CORS{
			AllowOrigins:  []string{"http://localhost:8080"},
			AllowMethods:  []string{"GET", "POST"},
			AllowHeaders:  []string{"authorization", "content-type"},
			ExposeHeaders: []string{"location"},
			MaxAge:        10 * time.Minute,
		}
		c.Throttle = gateway.Throttle{}
	})
	preflight := func(origin, method, headers string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("OPTIONS", "/user", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		w := httptest.NewRecorder()
		f.gw.ServeHTTP(w, r)
		return w
	}
	w := preflight("http://localhost:8080", "POST", "Authorization, Content-Type")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "http://localhost:8080" ||
		w.Header().Get("Access-Control-Allow-Methods") != "GET,POST" || w.Header().Get("Access-Control-Max-Age") != "600" {
		t.Errorf("allowed preflight: %d %v", w.Code, w.Header())
	}
	for name, w := range map[string]*httptest.ResponseRecorder{
		"other origin": preflight("http://evil.example", "GET", ""),
		"other method": preflight("http://localhost:8080", "DELETE", ""),
		"other header": preflight("http://localhost:8080", "GET", "x-evil"),
	} {
		if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: %d %v", name, w.Code, w.Header())
		}
	}
	if f.fn.calls.Load() != 0 {
		t.Error("preflight reached the function")
	}

	f.fn.reply = func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Access-Control-Allow-Origin": "*"}}, nil
	}
	r := httptest.NewRequest("GET", "/user?UserId=a", nil)
	r.Header.Set("Origin", "http://localhost:8080")
	r.Header.Set("Authorization", f.idToken(t, alice))
	w = httptest.NewRecorder()
	f.gw.ServeHTTP(w, r)
	if w.Header().Get("Access-Control-Allow-Origin") != "http://localhost:8080" || w.Header().Get("Access-Control-Expose-Headers") != "location" {
		t.Errorf("actual response: %v", w.Header())
	}
	r.Header.Set("Origin", "http://evil.example")
	w = httptest.NewRecorder()
	f.gw.ServeHTTP(w, r)
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("function's CORS header for a refused origin kept: %q", got)
	}
	// 401s carry CORS headers too, so that the browser can read them.
	r.Header.Set("Origin", "http://localhost:8080")
	r.Header.Del("Authorization")
	w = httptest.NewRecorder()
	f.gw.ServeHTTP(w, r)
	if w.Code != 401 || w.Header().Get("Access-Control-Allow-Origin") != "http://localhost:8080" {
		t.Errorf("401: %d %v", w.Code, w.Header())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	base := func() gateway.Config {
		return gateway.Config{
			Routes:   api.Routes,
			Handler:  func(string) (api.HandlerFunc, bool) { return (&recorder{}).handle, true },
			Issuer:   "http://localhost:9229/us-east-1_LocalPool",
			Audience: []string{"portal"},
		}
	}
	tests := map[string]func(*gateway.Config){
		"no routes":              func(c *gateway.Config) { c.Routes = nil },
		"missing handler":        func(c *gateway.Config) { c.Handler = func(string) (api.HandlerFunc, bool) { return nil, false } },
		"bad issuer":             func(c *gateway.Config) { c.Issuer = "localhost" },
		"no audience":            func(c *gateway.Config) { c.Audience = nil },
		"bad route key":          func(c *gateway.Config) { c.Routes = []api.Route{{Key: "/user", Function: "f"}} },
		"duplicate route":        func(c *gateway.Config) { c.Routes = append(api.Routes, api.Routes[0]) },
		"cors without origin":    func(c *gateway.Config) { c.CORS = &gateway.CORS{} },
		"handler not a function": func(c *gateway.Config) { c.Functions = map[string]any{"get_user": 42} },
		"cors * with credentials": func(c *gateway.Config) {
			c.CORS = &gateway.CORS{AllowOrigins: []string{"*"}, AllowCredentials: true}
		},
	}
	for name, mut := range tests {
		cfg := base()
		mut(&cfg)
		if _, err := gateway.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := gateway.New(base()); err != nil {
		t.Errorf("base config: %v", err)
	}
}

func challenge(w *httptest.ResponseRecorder) string {
	if v := w.Header()["www-authenticate"]; len(v) == 1 {
		return v[0]
	}
	return ""
}

func timeNow() time.Time { return time.Now().Truncate(time.Second) }

// TestRouteScopes checks a route that requires scopes: a valid token that
// carries one of them passes with its scopes in the event; a valid token
// without any is refused with 403 and an insufficient_scope challenge, and
// the function is never called.
func TestRouteScopes(t *testing.T) {
	routes := []api.Route{{Key: "GET /users", Function: "list_users", Scopes: []string{"users/read", "users/admin"}}}
	f := newFixture(t, func(c *gateway.Config) { c.Routes = routes })
	with := f.iss.Sign(t, f.iss.AccessToken(alice, "portal", "openid users/read", f.clk.Now()))
	without := f.iss.Sign(t, f.iss.AccessToken(alice, "portal", "openid email", f.clk.Now()))

	w := f.do(t, "GET", "/users", without, nil)
	assertAnswer(t, w, http.StatusForbidden, "Forbidden")
	if got := challenge(w); !strings.Contains(got, `error="insufficient_scope"`) || !strings.Contains(got, `scope="users/read users/admin"`) {
		t.Errorf("www-authenticate = %q", got)
	}
	if n := f.fn.calls.Load(); n != 0 {
		t.Fatalf("function called %d times for a token without the scope", n)
	}

	if w := f.do(t, "GET", "/users", with, nil); w.Code != http.StatusOK {
		t.Fatalf("token with the scope: %d %s", w.Code, w.Body)
	}
	if got := f.fn.last(t).RequestContext.Authorizer.JWT.Scopes; len(got) != 2 || got[1] != "users/read" {
		t.Errorf("event scopes = %v, want the token's scopes", got)
	}
}
