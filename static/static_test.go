package static_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/static"
)

func TestHandler(t *testing.T) {
	p := static.Path("portal.css")
	if !strings.HasPrefix(p, static.Prefix+"portal.") || !strings.HasSuffix(p, ".css") {
		t.Fatalf("Path(portal.css) = %q", p)
	}
	h := static.Handler()
	tests := []struct {
		path   string
		status int
		ctype  string
	}{
		{p, http.StatusOK, "text/css; charset=utf-8"},
		{static.Path("logo.svg"), http.StatusOK, "image/svg+xml"},
		{"/static/portal.css", http.StatusNotFound, ""},
		{"/static/", http.StatusNotFound, ""},
		{"/static/../static.go", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("GET %s = %d, want %d", tt.path, rec.Code, tt.status)
		}
		if tt.status == http.StatusOK {
			if got := rec.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("GET %s Content-Type %q, want %q", tt.path, got, tt.ctype)
			}
			if !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
				t.Errorf("GET %s not cached as immutable", tt.path)
			}
		}
	}
	if static.Path("missing.css") != "" {
		t.Error("Path of a missing file is not empty")
	}
}
