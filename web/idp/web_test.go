package idp

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"

	"github.com/usersvc/usersvc/web/idp/users"
)

// lockedBuffer is a log destination safe for concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// TestRequestIDAndLog: every response carries its request id in
// X-Request-Id (16 hex digits, as the portal's), and the access log line
// names the same id, the status and the latency, under the keys the portal
// and the API use.
func TestRequestIDAndLog(t *testing.T) {
	var logs lockedBuffer
	dir := t.TempDir()
	seedKeys(t, dir)
	s, err := New(Config{
		URL: "http://localhost:9229", DataDir: dir, Clients: []Client{DevClient("http://localhost:8080", "")},
		PasswordCost: users.TestCost, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/" + DefaultPoolID + "/.well-known/openid-configuration", http.StatusOK},
		{"/no-such-page", http.StatusNotFound},
	} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		id := rec.Header().Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
			t.Fatalf("GET %s: X-Request-Id %q, want 16 hex digits", tt.path, id)
		}
		var found bool
		for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
			var rec struct {
				Msg       string   `json:"msg"`
				RequestID string   `json:"request_id"`
				Path      string   `json:"path"`
				Status    int      `json:"status"`
				Latency   *float64 `json:"latency"`
			}
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("log line %s: %v", line, err)
			}
			if rec.Msg != "request" || rec.RequestID != id {
				continue
			}
			found = true
			if rec.Path != tt.path || rec.Status != tt.status || rec.Latency == nil {
				t.Errorf("GET %s: log line %s, want path, status %d and latency", tt.path, line, tt.status)
			}
		}
		if !found {
			t.Fatalf("GET %s: no request line with request_id %s in\n%s", tt.path, id, logs.Bytes())
		}
	}
}

// TestAccessLogStatus: the access log records the status the client got:
// the first final one written, 200 for a body without one or for nothing
// at all.
func TestAccessLogStatus(t *testing.T) {
	for _, tt := range []struct {
		name    string
		handler func(w http.ResponseWriter)
		want    int
	}{
		{"nothing written", func(w http.ResponseWriter) {}, http.StatusOK},
		{"body only", func(w http.ResponseWriter) { w.Write([]byte("hi")) }, http.StatusOK},
		{"status then body", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated); w.Write([]byte("x")) }, http.StatusCreated},
		{"first status wins", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusNotFound)
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusNotFound},
		{"body then status", func(w http.ResponseWriter) {
			w.Write([]byte("x"))
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusOK},
		{"interim then final", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNoContent)
		}, http.StatusNoContent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs lockedBuffer
			s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil))}
			srv := httptest.NewServer(s.logged(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.handler(w) })))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			srv.Close() // waits for the handler, and so for its log line
			var line struct {
				Status int `json:"status"`
			}
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("log %s: %v", logs.Bytes(), err)
			}
			if line.Status != tt.want || resp.StatusCode != tt.want {
				t.Errorf("logged %d, client got %d, want %d", line.Status, resp.StatusCode, tt.want)
			}
		})
	}
}
