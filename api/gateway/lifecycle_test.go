package gateway_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/usersvc/usersvc/api/gateway"
)

// TestTimeoutFreesTheConcurrencySlot checks that a function ignoring its
// context does not hold its route's concurrency slot past the timeout: as
// in Lambda, the invocation ends at the timeout, its environment is not
// reused, and the next request gets an environment of its own.
func TestTimeoutFreesTheConcurrencySlot(t *testing.T) {
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	var calls atomic.Int64
	var logs syncWriter
	logs.w = &bytes.Buffer{}
	f := newFixture(t, func(c *gateway.Config) {
		c.MaxConcurrency = 1
		c.Timeout = 50 * time.Millisecond
		c.Log = slog.New(slog.NewTextHandler(&logs, nil))
		c.Functions = map[string]any{"get_user": func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			if calls.Add(1) == 1 {
				<-stuck // ignores ctx
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
		}}
	})
	tok := f.idToken(t, alice)
	assertAnswer(t, f.do(t, "GET", "/user?UserId=a", tok, nil), 503, "Service Unavailable")
	for i := range 3 {
		if w := f.do(t, "GET", "/user?UserId=a", tok, nil); w.Code != 200 {
			t.Fatalf("request %d after the timeout: %d %s", i+2, w.Code, w.Body)
		}
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if out := logs.w.(*bytes.Buffer).String(); !strings.Contains(out, "abandoned") {
		t.Errorf("no log of the abandoned invocation in %q", out)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestBodyIsReadOnlyForAuthorizedRequests checks that the gateway reads
// no body before the authorizer has passed the request, so that an
// unauthenticated client cannot make it buffer 10 MB, and that a declared
// Content-Length over the limit is refused before anything else.
func TestBodyIsReadOnlyForAuthorizedRequests(t *testing.T) {
	f := newFixture(t)
	tok := f.idToken(t, alice)
	tests := []struct {
		name          string
		auth          string
		contentLength int64 // -1: unknown, as with chunked encoding
		size          int
		status        int
		message       string
		wantRead      bool
	}{
		{"no token, streamed body", "", -1, 1 << 20, 401, "Unauthorized", false},
		{"bad token, streamed body", "Bearer a.b.c", -1, 1 << 20, 401, "Unauthorized", false},
		{"no token, declared over the limit", "", gateway.MaxBodyBytes + 1, 16, 413, "Request Entity Too Large", false},
		{"valid token, declared over the limit", "Bearer " + tok, gateway.MaxBodyBytes + 1, 16, 413, "Request Entity Too Large", false},
		{"valid token, streamed over the limit", "Bearer " + tok, -1, gateway.MaxBodyBytes + 1, 413, "Request Entity Too Large", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte("a"), tt.size))}
			r := httptest.NewRequest("POST", "/user", body)
			r.ContentLength = tt.contentLength
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			f.gw.ServeHTTP(w, r)
			assertAnswer(t, w, tt.status, tt.message)
			if read := body.n.Load() > 0; read != tt.wantRead {
				t.Errorf("body read: %d bytes", body.n.Load())
			}
		})
	}
	if n := f.fn.calls.Load(); n != 0 {
		t.Errorf("function called %d times", n)
	}
}

// TestRepeatedAuthorizationHeaders checks that several Authorization
// headers are joined with commas, as API Gateway joins every repeated
// header, so that the token is not any one of them and is refused.
func TestRepeatedAuthorizationHeaders(t *testing.T) {
	f := newFixture(t)
	tok := f.idToken(t, alice)
	r := httptest.NewRequest("GET", "/user?UserId=a", nil)
	r.Header.Add("Authorization", "Bearer "+tok)
	r.Header.Add("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	f.gw.ServeHTTP(w, r)
	assertAnswer(t, w, 401, "Unauthorized")
	if n := f.fn.calls.Load(); n != 0 {
		t.Errorf("function called %d times", n)
	}
	// One header still passes.
	if w := f.do(t, "GET", "/user?UserId=a", tok, nil); w.Code != 200 {
		t.Errorf("one header: %d %s", w.Code, w.Body)
	}
}

// TestCloseEndsWarmEnvironments checks that Close ends the goroutines of
// warm environments at once, rather than a minute later, and that
// requests after Close are answered 503 without calling the function.
func TestCloseEndsWarmEnvironments(t *testing.T) {
	const n = 8
	arrived := make(chan struct{}, n)
	proceed := make(chan struct{})
	var calls atomic.Int64
	f := newFixture(t, func(c *gateway.Config) {
		c.Functions = map[string]any{"get_user": func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			if calls.Add(1) <= n {
				arrived <- struct{}{}
				<-proceed
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
		}}
	})
	tok := f.idToken(t, alice)
	// Fetch the keys first, so that the issuer's connections are counted
	// in the baseline rather than taken for environments.
	if w := f.do(t, "POST", "/user", tok, strings.NewReader(`{}`)); w.Code != 200 {
		t.Fatalf("warm-up: %d", w.Code)
	}
	f.iss.Client().CloseIdleConnections()
	base := settledGoroutines(t, -1)

	// n requests at once: n environments, warm once they are done.
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if w := f.do(t, "GET", "/user?UserId=a", tok, nil); w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		})
	}
	for range n {
		<-arrived
	}
	close(proceed)
	wg.Wait()
	if got := runtime.NumGoroutine(); got < base+n {
		t.Fatalf("%d goroutines with %d warm environments, baseline %d", got, n, base)
	}

	if err := f.gw.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.gw.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := settledGoroutines(t, base); got > base {
		t.Errorf("%d goroutines after Close, want at most the baseline %d", got, base)
	}
	before := calls.Load()
	assertAnswer(t, f.do(t, "GET", "/user?UserId=a", tok, nil), 503, "Service Unavailable")
	if calls.Load() != before {
		t.Error("function called after Close")
	}
	if got := settledGoroutines(t, base); got > base {
		t.Errorf("%d goroutines after a request to a closed gateway, baseline %d", got, base)
	}
}

// settledGoroutines polls runtime.NumGoroutine for up to two seconds
// until it is at most want (or, with want < 0, until it stops changing),
// and returns the last count.
func settledGoroutines(t *testing.T, want int) int {
	t.Helper()
	last := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		got := runtime.NumGoroutine()
		if (want >= 0 && got <= want) || (want < 0 && got == last) {
			return got
		}
		last = got
	}
	return last
}
