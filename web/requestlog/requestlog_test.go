package requestlog

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

func TestRecorderStatus(t *testing.T) {
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter)
		want    int
	}{
		{"nothing written", func(w http.ResponseWriter) {}, 200},
		{"body only", func(w http.ResponseWriter) { w.Write([]byte("x")) }, 200},
		{"explicit", func(w http.ResponseWriter) { w.WriteHeader(404) }, 404},
		{"first status wins", func(w http.ResponseWriter) { w.WriteHeader(302); w.WriteHeader(500) }, 302},
		{"status after body", func(w http.ResponseWriter) { w.Write([]byte("x")); w.WriteHeader(500) }, 200},
		{"interim then final", func(w http.ResponseWriter) { w.WriteHeader(103); w.WriteHeader(201) }, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rec := NewRecorder(w)
			tt.handler(rec)
			if rec.Status() != tt.want {
				t.Errorf("Status() = %d, want %d", rec.Status(), tt.want)
			}
		})
	}
	if rec := NewRecorder(httptest.NewRecorder()); rec.Sent() {
		t.Error("a fresh recorder says a status was sent")
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("id %q: wrong form or repeated", id)
		}
		seen[id] = true
	}
}
