package gateway

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/usersvc/usersvc/api"
)

// TestRouteTimeouts checks the integration timeout of each route: API
// Gateway's 30 s unless configured, and a per-route override winning.
func TestRouteTimeouts(t *testing.T) {
	if DefaultTimeout != 30*time.Second {
		t.Fatalf("DefaultTimeout = %s, want API Gateway's 30s", DefaultTimeout)
	}
	tests := []struct {
		name    string
		timeout time.Duration
		routes  map[string]time.Duration
		want    map[string]time.Duration
	}{
		{"default", 0, nil, map[string]time.Duration{"GET /user": 30 * time.Second, "POST /user": 30 * time.Second}},
		{"configured", 5 * time.Second, nil, map[string]time.Duration{"GET /user": 5 * time.Second}},
		{"per route", 5 * time.Second, map[string]time.Duration{"GET /user": time.Second}, map[string]time.Duration{"GET /user": time.Second, "POST /user": 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(Config{
				Routes:        api.Routes,
				Functions:     map[string]any{"get_user": func() error { return nil }, "create_user": func() error { return nil }, "list_users": func() error { return nil }},
				Issuer:        "http://127.0.0.1:1/pool",
				Audience:      []string{"portal"},
				Timeout:       tt.timeout,
				RouteTimeouts: tt.routes,
			})
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range tt.want {
				if got := g.routes.exact[key].timeout; got != want {
					t.Errorf("%s timeout = %s, want %s", key, got, want)
				}
			}
		})
	}
}

// TestTraceID checks the X-Ray header shape: epoch seconds in 8 hex
// digits, then the first 12 bytes of the request id in hex.
func TestTraceID(t *testing.T) {
	for _, tt := range []struct {
		t     time.Time
		reqID string
		want  string
	}{
		{time.Unix(0x6b06b650, 0), "Mc7UVioPPHcEKPA=", "Root=1-6b06b650-4d63375556696f5050486345"},
		{time.Unix(1, 0), "", "Root=1-00000001-000000000000000000000000"},
	} {
		if got := traceID(tt.t, tt.reqID); got != tt.want {
			t.Errorf("traceID(%v, %q) = %q, want %q", tt.t.Unix(), tt.reqID, got, tt.want)
		}
	}
}

// TestLocalPort checks where x-forwarded-port comes from: the listener's
// address when the server gives it, else the Host header's port.
func TestLocalPort(t *testing.T) {
	withAddr := func(a net.Addr) *http.Request {
		r := httptest.NewRequest("GET", "http://example.com/user", nil)
		return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, a))
	}
	hostOnly := httptest.NewRequest("GET", "http://localhost:8080/user", nil)
	noPort := httptest.NewRequest("GET", "http://example.com/user", nil)
	unix, _ := net.ResolveUnixAddr("unix", "/tmp/x.sock")
	for name, tt := range map[string]struct {
		r    *http.Request
		want string
		ok   bool
	}{
		"tcp listener":     {withAddr(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000}), "3000", true},
		"host header":      {hostOnly, "8080", true},
		"no port anywhere": {noPort, "", false},
		"not a host:port":  {withAddr(unix), "", false},
	} {
		got, ok := localPort(tt.r)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: localPort = %q, %v, want %q, %v", name, got, ok, tt.want, tt.ok)
		}
	}
}
