package gateway_test

import (
	"net/http"
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
