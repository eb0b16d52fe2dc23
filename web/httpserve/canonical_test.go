package httpserve_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/httpserve"
)

// TestCanonicalHostRule: safe requests on another host name are sent to
// the canonical one; other methods are served where they arrived, never
// replayed at another origin with 307.
func TestCanonicalHostRule(t *testing.T) {
	base, _ := url.Parse("http://localhost:8080")
	h := httpserve.CanonicalHost(base, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot) // served here
	}))
	for _, tt := range []struct {
		method, host, target string
		status               int
		location             string
	}{
		{"GET", "localhost:8080", "/x?a=1", http.StatusTeapot, ""},
		{"GET", "127.0.0.1:8080", "/x?a=1", http.StatusFound, "http://localhost:8080/x?a=1"},
		{"HEAD", "127.0.0.1:8080", "/", http.StatusFound, "http://localhost:8080/"},
		{"GET", "evil.example", "//evil.example/x", http.StatusFound, "http://localhost:8080//evil.example/x"},
		{"GET", "127.0.0.1:8080", "/healthz", http.StatusTeapot, ""},
		{"POST", "127.0.0.1:8080", "/user/new", http.StatusTeapot, ""},
		{"POST", "127.0.0.1:8080", "/oauth2/token", http.StatusTeapot, ""},
		{"DELETE", "127.0.0.1:8080", "/x", http.StatusTeapot, ""},
		{"POST", "localhost:8080", "/user/new", http.StatusTeapot, ""},
	} {
		req := httptest.NewRequest(tt.method, "http://"+tt.host+tt.target, strings.NewReader("a=1"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status || rec.Header().Get("Location") != tt.location {
			t.Errorf("%s %s%s: %d to %q, want %d to %q", tt.method, tt.host, tt.target, rec.Code, rec.Header().Get("Location"), tt.status, tt.location)
		}
	}
}
