package portal

import (
	"net/url"
	"testing"
)

// TestCookieSpec: the session cookie is Secure, with the __Host- prefix,
// wherever browsers allow it (https, and plain http on hosts that name this
// machine, spelt any way loopback.IsLocal accepts), and plain elsewhere.
func TestCookieSpec(t *testing.T) {
	for _, tt := range []struct {
		base   string
		secure bool
	}{
		{"https://portal.example.com", true},
		{"http://localhost:8080", true},
		{"http://LOCALHOST:8080", true},
		{"http://localhost.:8080", true},
		{"http://app.localhost:8080", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://portal.example.com", false},
		{"http://localhost.example.com:8080", false},
	} {
		u, err := url.Parse(tt.base)
		if err != nil {
			t.Fatal(err)
		}
		spec := newCookieSpec(u)
		wantName := "portal-session"
		if tt.secure {
			wantName = "__Host-portal-session"
		}
		if spec.secure != tt.secure || spec.name != wantName {
			t.Errorf("%s: cookie %q secure=%v, want %q secure=%v", tt.base, spec.name, spec.secure, wantName, tt.secure)
		}
	}
}
