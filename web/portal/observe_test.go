package portal_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/requestlog"
)

// TestRequestIDAndLog: every response carries its request id in
// X-Request-Id (16 hex digits, as the identity provider's), and the access
// log line names the same id, the status and the latency.
func TestRequestIDAndLog(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/healthz", "/no-such-page"} {
		resp, err := http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
			t.Fatalf("GET %s: X-Request-Id %q, want 16 hex digits", path, id)
		}
		var line string
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, "msg=request") && strings.Contains(l, "request_id="+id) {
				line = l
			}
		}
		if line == "" {
			t.Fatalf("GET %s: no request line with request_id=%s in\n%s", path, id, h.logs.String())
		}
		for _, want := range []string{"path=" + path, "status=", "latency="} {
			if !strings.Contains(line, want) {
				t.Errorf("GET %s: log line %q lacks %q", path, line, want)
			}
		}
	}
}

// TestAccessLogClipsRequest: a long path or method, which the client
// chooses, takes at most requestlog.MaxLogged bytes of the access log
// line, marked as cut.
func TestAccessLogClipsRequest(t *testing.T) {
	h := newHarness(t)
	path := "/" + strings.Repeat("p", 4000)
	method := strings.Repeat("M", 3000)
	for _, m := range []string{"GET", method} {
		req, _ := http.NewRequest(m, h.url+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	logs := h.logs.String()
	if strings.Contains(logs, strings.Repeat("p", requestlog.MaxLogged+1)) || strings.Contains(logs, strings.Repeat("M", requestlog.MaxLogged+1)) {
		t.Errorf("the log holds the whole path or method:\n%.2000s", logs)
	}
	for _, want := range []string{"…(truncated, 4001 bytes)", "…(truncated, 3000 bytes)"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no line marks a cut %q", want)
		}
	}
}
