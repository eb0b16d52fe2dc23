package gateway

import (
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
