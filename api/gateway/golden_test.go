package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/gateway"
	"github.com/usersvc/usersvc/api/gateway/internal/testissuer"
	"github.com/usersvc/usersvc/api/gateway/jwtauth"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// cognitoIssuer is the issuer the golden events carry: a real Cognito
// pool URL, so the fixtures read like events from AWS. The keys come from
// the test issuer through JWKSURL.
const cognitoIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"

// captureFunc is a Lambda function that records the raw JSON it is given,
// the exact bytes API Gateway would send to Lambda, and answers out.
type captureFunc struct {
	mu  sync.Mutex
	in  []byte
	out string
}

func (c *captureFunc) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.in = bytes.Clone(payload)
	return []byte(c.out), nil
}

// goldenGateway serves routes with fn behind all of them, at a fixed time,
// with fixed ids, trusting the Cognito-shaped issuer.
func goldenGateway(t *testing.T, iss *testissuer.Issuer, routes []api.Route, fn *captureFunc) (*gateway.Gateway, time.Time) {
	t.Helper()
	now := time.Date(2026, 11, 25, 10, 20, 0, 0, time.UTC)
	auth, err := jwtauth.New(jwtauth.Config{
		Issuer:     cognitoIssuer,
		Audience:   []string{"3n4b5urk1ft4fl3mg5e62d9ado"},
		JWKSURL:    iss.URL + "/.well-known/jwks.json",
		HTTPClient: iss.Client(),
		Now:        func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	fns := map[string]any{}
	for _, r := range routes {
		fns[r.Function] = fn
	}
	gw, err := gateway.New(gateway.Config{
		Routes:     routes,
		Functions:  fns,
		Authorizer: auth,
		Now:        func() time.Time { return now },
		APIID:      "a1b2c3d4e5",
		AccountID:  "123456789012",
		RequestID:  func() string { return "CfS0uhYJjoEEM3g=" },
	})
	if err != nil {
		t.Fatal(err)
	}
	return gw, now
}

func cognitoClaims(now time.Time, use string) map[string]any {
	c := map[string]any{
		"sub":            "7c1e4a52-9d3b-4f6e-8a21-5b0c9d8e7f6a",
		"cognito:groups": []string{"admins"},
		"iss":            cognitoIssuer,
		"origin_jti":     "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
		"event_id":       "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
		"token_use":      use,
		"auth_time":      now.Add(-10 * time.Minute).Unix(),
		"exp":            now.Add(50 * time.Minute).Unix(),
		"iat":            now.Add(-10 * time.Minute).Unix(),
		"jti":            "6a7b8c9d-0e1f-2a3b-4c5d-6e7f8a9b0c1d",
	}
	if use == "id" {
		c["aud"] = "3n4b5urk1ft4fl3mg5e62d9ado"
		c["email"] = "ana@example.com"
		c["email_verified"] = true
		c["cognito:username"] = "ana"
	} else {
		c["client_id"] = "3n4b5urk1ft4fl3mg5e62d9ado"
		c["scope"] = "openid email users/read"
		c["username"] = "ana"
	}
	return c
}

// TestGoldenEvents checks the events the gateway sends against fixtures
// in the shape of real API Gateway payload format 2.0 events.
func TestGoldenEvents(t *testing.T) {
	iss := testissuer.New(t)
	routes := []api.Route{
		{Key: "GET /user", Function: "get_user"},
		{Key: "POST /user", Function: "create_user"},
		{Key: "GET /users", Function: "list_users", Scopes: []string{"users/read", "users/admin"}},
		{Key: "PUT /files/{name}", Function: "put_file"},
	}
	tests := []struct {
		name    string
		method  string
		target  string
		tokenOf string // "id" or "access"
		body    []byte
		headers [][2]string
	}{
		{name: "get_user", method: "GET", target: "/user?UserId=ana-01", tokenOf: "id"},
		{name: "create_user", method: "POST", target: "/user", tokenOf: "access",
			body:    []byte(`{"User":{"UserId":"ana-01","Name":"Ana","Age":42}}`),
			headers: [][2]string{{"Content-Type", "application/json"}}},
		{name: "list_users_scopes_cookies_repeats", method: "GET", target: "/users?limit=2&cursor=b2s%3D&limit=3&flag", tokenOf: "access",
			headers: [][2]string{{"Cookie", "theme=dark; session=abc"}, {"Accept", "application/json"}, {"Accept", "text/plain"}, {"X-Forwarded-For", "198.51.100.9"}}},
		{name: "put_file_binary", method: "PUT", target: "/files/logo.png", tokenOf: "id",
			body:    []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0xff},
			headers: [][2]string{{"Content-Type", "image/png"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := &captureFunc{out: `{"statusCode":204}`}
			gw, now := goldenGateway(t, iss, routes, fn)
			token := iss.Sign(t, cognitoClaims(now, tt.tokenOf))
			r := httptest.NewRequest(tt.method, "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"+tt.target, bytes.NewReader(tt.body))
			if tt.body == nil {
				r = httptest.NewRequest(tt.method, "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"+tt.target, nil)
			}
			r.TLS = &tls.ConnectionState{}
			r.RemoteAddr = "203.0.113.7:51234"
			r.Header.Set("User-Agent", "curl/8.5.0")
			r.Header.Set("Authorization", "Bearer "+token)
			for _, h := range tt.headers {
				r.Header.Add(h[0], h[1])
			}
			if len(r.Header.Values("Accept")) == 0 {
				r.Header.Set("Accept", "*/*")
			}
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, r)
			if w.Code != 204 {
				t.Fatalf("status %d: %s %s", w.Code, w.Body, w.Header()["www-authenticate"])
			}
			got := normalizeEvent(t, fn.in, token)
			path := filepath.Join("testdata", "events", tt.name+".json")
			if *update {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			assertSameJSON(t, got, want)

			// The fixture is what aws-lambda-go's type decodes, field for field.
			var ev events.APIGatewayV2HTTPRequest
			dec := json.NewDecoder(bytes.NewReader(want))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("fixture does not decode as events.APIGatewayV2HTTPRequest: %v", err)
			}
		})
	}
}

// normalizeEvent replaces the one value that changes from run to run (the
// token, signed with a key generated per run) and indents the event.
func normalizeEvent(t *testing.T, raw []byte, token string) []byte {
	t.Helper()
	raw = bytes.ReplaceAll(raw, []byte(token), []byte("eyJraWQiOiJrZXktMSIsImFsZyI6IlJTMjU2In0.e30.c2ln"))
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("event is not JSON: %v", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
	return b.Bytes()
}

func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("event differs from the golden file\n got: %s\nwant: %s", got, want)
	}
}

// responseCase is a golden response fixture: what a function returned and
// what the client must get.
type responseCase struct {
	Function json.RawMessage     `json:"function"`
	Status   int                 `json:"status"`
	Headers  map[string][]string `json:"headers"`
	Body     string              `json:"body"`
}

// TestGoldenResponses checks how function outputs become HTTP responses.
func TestGoldenResponses(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "responses", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no response fixtures: %v", err)
	}
	iss := testissuer.New(t)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var tc responseCase
			if err := json.Unmarshal(b, &tc); err != nil {
				t.Fatal(err)
			}
			fn := &captureFunc{out: string(tc.Function)}
			gw, now := goldenGateway(t, iss, api.Routes, fn)
			r := httptest.NewRequest("GET", "/user?UserId=ana-01", nil)
			r.Header.Set("Authorization", "Bearer "+iss.Sign(t, cognitoClaims(now, "id")))
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, r)
			if w.Code != tc.Status {
				t.Errorf("status = %d, want %d", w.Code, tc.Status)
			}
			for k, want := range tc.Headers {
				if got := w.Header().Values(k); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			body, _ := io.ReadAll(w.Body)
			if string(body) != tc.Body {
				t.Errorf("body = %q, want %q", body, tc.Body)
			}
		})
	}
}
