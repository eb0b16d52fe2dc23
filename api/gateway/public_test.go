package gateway_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/gateway"
)

// TestPublicDefaultRoute serves an HTTP API as the portal's is deployed: one
// "$default" route without an authorizer. Every method and path reaches the
// function, with no token and no issuer configured, and the event names the
// route key as API Gateway does.
func TestPublicDefaultRoute(t *testing.T) {
	fn := &recorder{}
	gw, err := gateway.New(gateway.Config{
		Routes:    []api.Route{{Key: gateway.DefaultRouteKey, Function: "portal", Public: true}},
		Functions: map[string]any{"portal": fn.handle},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{gw: gw, fn: fn}
	for _, tc := range []struct{ method, target string }{
		{"GET", "/"},
		{"GET", "/user?UserId=a"},
		{"POST", "/auth/logout"},
		{"HEAD", "/static/portal.css"},
	} {
		w := f.do(t, tc.method, tc.target, "", nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s %s: status %d, want 200 from the function (body %s)", tc.method, tc.target, w.Code, w.Body)
		}
		ev := fn.last(t)
		if ev.RouteKey != "$default" || ev.RequestContext.RouteKey != "$default" {
			t.Errorf("%s %s: route key %q / %q, want $default", tc.method, tc.target, ev.RouteKey, ev.RequestContext.RouteKey)
		}
		if ev.RequestContext.Authorizer != nil {
			t.Errorf("%s %s: authorizer context %+v on a public route", tc.method, tc.target, ev.RequestContext.Authorizer)
		}
		if path, _, _ := strings.Cut(tc.target, "?"); ev.RawPath != path {
			t.Errorf("raw path %q, want %q", ev.RawPath, path)
		}
	}
}

// TestDefaultRouteIsTheFallback checks that specific routes still win, and
// the authorizer still guards them, when a "$default" route is present.
func TestDefaultRouteIsTheFallback(t *testing.T) {
	def := &recorder{}
	f := newFixture(t, func(c *gateway.Config) {
		c.Routes = append(append([]api.Route(nil), api.Routes...), api.Route{Key: gateway.DefaultRouteKey, Function: "fallback", Public: true})
		c.Functions = map[string]any{"fallback": def.handle}
	})
	if w := f.do(t, "GET", "/user?UserId=a", "", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /user without a token: %d, want 401 (the specific route, authorized)", w.Code)
	}
	if w := f.do(t, "GET", "/elsewhere", "", nil); w.Code != http.StatusOK || def.calls.Load() != 1 {
		t.Errorf("GET /elsewhere: %d and %d fallback calls, want 200 from the fallback", w.Code, def.calls.Load())
	}
	if f.fn.calls.Load() != 0 {
		t.Errorf("the authorized function ran %d times without a token", f.fn.calls.Load())
	}
}

func TestDefaultRouteListedTwice(t *testing.T) {
	fn := &recorder{}
	_, err := gateway.New(gateway.Config{
		Routes:    []api.Route{{Key: "$default", Function: "a", Public: true}, {Key: "$default", Function: "a", Public: true}},
		Functions: map[string]any{"a": fn.handle},
	})
	if err == nil {
		t.Fatal("two $default routes accepted")
	}
}

// TestMaxBody: a gateway in front of a function that takes little (the
// portal's public route) refuses larger bodies, declared or sent, before
// the function runs and without buffering them.
func TestMaxBody(t *testing.T) {
	fn := &recorder{}
	gw, err := gateway.New(gateway.Config{
		Routes:    []api.Route{{Key: gateway.DefaultRouteKey, Function: "portal", Public: true}},
		Functions: map[string]any{"portal": fn.handle},
		MaxBody:   1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{gw: gw, fn: fn}
	if w := f.do(t, "POST", "/user/new", "", strings.NewReader(strings.Repeat("a", 1000))); w.Code != http.StatusOK {
		t.Errorf("a body of exactly MaxBody: %d, want 200", w.Code)
	}
	for name, body := range map[string]io.Reader{
		"declared": strings.NewReader(strings.Repeat("a", 1001)),
		// Without a length, the body is cut at one byte past the limit.
		"undeclared": io.MultiReader(strings.NewReader(strings.Repeat("a", 1001)), strings.NewReader("")),
	} {
		w := f.do(t, "POST", "/user/new", "", body)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s body over MaxBody: %d, want 413", name, w.Code)
		}
	}
	if fn.calls.Load() != 1 {
		t.Errorf("function ran %d times, want once (for the body within the limit)", fn.calls.Load())
	}
}

// TestFormPostsAreBase64 holds the twin to API Gateway: a form post
// reaches the function base64-encoded with isBase64Encoded, as the portal's
// function receives it on AWS; JSON stays text.
func TestFormPostsAreBase64(t *testing.T) {
	fn := &recorder{}
	gw, err := gateway.New(gateway.Config{
		Routes:    []api.Route{{Key: gateway.DefaultRouteKey, Function: "portal", Public: true}},
		Functions: map[string]any{"portal": fn.handle},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{gw: gw, fn: fn}
	for _, tc := range []struct {
		contentType, body string
		b64               bool
	}{
		{"application/x-www-form-urlencoded", "UserId=a&Name=%C3%81na", true},
		{"application/x-www-form-urlencoded; charset=utf-8", "x=1", true},
		{"application/json", `{"User":{"UserId":"a"}}`, false},
		{"text/plain", "hello", false},
	} {
		r := httptest.NewRequest("POST", "/form", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.contentType)
		gw.ServeHTTP(httptest.NewRecorder(), r)
		ev := f.fn.last(t)
		want := tc.body
		if tc.b64 {
			want = base64.StdEncoding.EncodeToString([]byte(tc.body))
		}
		if ev.IsBase64Encoded != tc.b64 || ev.Body != want {
			t.Errorf("%s: isBase64Encoded=%v body=%q, want %v %q", tc.contentType, ev.IsBase64Encoded, ev.Body, tc.b64, want)
		}
	}
}
