package portal_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
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
