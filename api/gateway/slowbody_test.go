package gateway_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/usersvc/usersvc/api/gateway"
	"github.com/usersvc/usersvc/web/httpserve"
	"github.com/usersvc/usersvc/web/httpserve/httpservetest"
)

// serveFixture serves f's gateway on a loopback port, as `portal api` does.
func serveFixture(t *testing.T, f *fixture) string {
	return httpservetest.Serve(t, httpserve.New(httpserve.Config{Handler: f.gw}))
}

var rawConn = httpservetest.Dial

func withBody(l httpserve.Limits) func(*gateway.Config) {
	return func(c *gateway.Config) { c.Body = l }
}

// The attack of issue 13, point 1: an authorized POST /user that declares
// a body and sends none. The gateway answers 408 once the grace has passed
// and closes the connection; the function is never called.
func TestDeclaredBodyNeverSent(t *testing.T) {
	f := newFixture(t, withBody(httpserve.Limits{Grace: 300 * time.Millisecond}))
	c := rawConn(t, serveFixture(t, f))
	fmt.Fprintf(c, "POST /user HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", f.idToken(t, alice))
	got := httpservetest.ReadToClose(t, c)
	if !strings.HasPrefix(got, "HTTP/1.1 408") || !strings.Contains(got, `{"message":"Request Timeout"}`) {
		t.Errorf("answer = %q, want 408", got)
	}
	if n := f.fn.calls.Load(); n != 0 {
		t.Errorf("function called %d times", n)
	}
}

// An anonymous request that declares a body is refused at once: the 401
// does not wait for a body that never comes.
func TestRefusalDoesNotWaitForTheBody(t *testing.T) {
	f := newFixture(t, withBody(httpserve.Limits{Grace: time.Hour}))
	c := rawConn(t, serveFixture(t, f))
	fmt.Fprint(c, "POST /user HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Errorf("status %d, close %v; want 401 and the connection closed", resp.StatusCode, resp.Close)
	}
}

// A 10 MB POST /user at a steady pace above the minimum rate reaches the
// function whole, although it takes several times the grace.
func TestSlowSteadyUploadReachesTheFunction(t *testing.T) {
	const size = 10 << 20
	f := newFixture(t, withBody(httpserve.Limits{Grace: 200 * time.Millisecond, MinRate: 4 << 20}))
	f.fn.reply = func(ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: fmt.Sprint(len(ev.Body))}, nil
	}
	c := rawConn(t, serveFixture(t, f))
	fmt.Fprintf(c, "POST /user HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", f.idToken(t, alice), size)
	chunk := bytes.Repeat([]byte("x"), 256<<10)
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			t.Fatalf("upload cut after %d bytes: %v", sent, err)
		}
		time.Sleep(25 * time.Millisecond) // about 10 MiB/s
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != fmt.Sprint(size) {
		t.Errorf("status %d body %q, want 200 and %d", resp.StatusCode, b, size)
	}
}

// Point 8: a client that goes away in the middle of its body is recorded
// as 499 "client closed the request", not as an error of the gateway's.
func TestClientGoneMidBody(t *testing.T) {
	var buf bytes.Buffer
	access := &syncWriter{w: &buf}
	f := newFixture(t, func(c *gateway.Config) { c.AccessLog = access })
	c := rawConn(t, serveFixture(t, f))
	fmt.Fprintf(c, "POST /user HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n{\"User\":", f.idToken(t, alice))
	time.Sleep(100 * time.Millisecond) // let the gateway start reading
	c.Close()
	var line string
	for range 200 {
		access.mu.Lock()
		line = buf.String()
		access.mu.Unlock()
		if line != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(line, `"status":"499"`) || !strings.Contains(line, "client closed the request") {
		t.Errorf("access log = %s, want status 499 and the reason", line)
	}
}

// Point 8: a method of 8 KB (net/http takes any token) is cut in the
// access log.
func TestLongMethodClippedInAccessLog(t *testing.T) {
	var buf bytes.Buffer
	access := &syncWriter{w: &buf}
	f := newFixture(t, func(c *gateway.Config) { c.AccessLog = access })
	c := rawConn(t, serveFixture(t, f))
	fmt.Fprintf(c, "%s /user HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", strings.Repeat("M", 8<<10))
	io.ReadAll(c)
	access.mu.Lock()
	defer access.mu.Unlock()
	if buf.Len() > 1000 || !strings.Contains(buf.String(), "truncated, 8192 bytes") {
		t.Errorf("access log (%d bytes) = %.300s", buf.Len(), buf.String())
	}
}
