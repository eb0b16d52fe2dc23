package gateway_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
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
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
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
