package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Issue 13, point 1, against `portal dev`: a client that declares a body
// and sends none. The identity provider cuts it after a form's grace (a few
// seconds, not a minute); the API refuses an anonymous one at once,
// without waiting for the body.
func TestDevSlowBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a form's grace (5 s)")
	}
	s := startDev(t, map[string]string{"PORTAL_DEV_ADMIN_PASSWORD": "Adm1n!e2e-pass"})
	hostOf := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		// The servers listen on 127.0.0.1 under the name localhost.
		return strings.Replace(u.Host, "localhost", "127.0.0.1", 1)
	}
	dial := func(raw string) net.Conn {
		c, err := net.Dial("tcp", hostOf(raw))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// A bound on a test that would otherwise hang: well above the
		// 5 s grace, well below the minute the issue reproduced.
		c.SetDeadline(time.Now().Add(30 * time.Second))
		return c
	}

	t.Run("identity provider form", func(t *testing.T) {
		c := dial(s.idp)
		fmt.Fprintf(c, "POST /login?client_id=portal HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", strings.TrimPrefix(s.idp, "http://"))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("connection not closed: %v", err)
		}
		if !strings.HasPrefix(string(got), "HTTP/1.1 4") {
			t.Errorf("answer %.80q, want a 4xx and a closed connection", got)
		}
	})
	t.Run("portal sign-out", func(t *testing.T) {
		// The reproduction: POST /auth/logout never reads its body, and
		// its 303 waited for one that never came. Behind the gateway, as
		// on AWS, the body is read before the function runs, and a body
		// that does not come is cut after the grace.
		c := dial(s.portal)
		fmt.Fprintf(c, "POST /auth/logout HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", strings.TrimPrefix(s.portal, "http://"), s.portal)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Errorf("status %d, close %v; want 408 and the connection closed", resp.StatusCode, resp.Close)
		}
	})
	t.Run("API without a token", func(t *testing.T) {
		c := dial(s.api)
		fmt.Fprintf(c, "POST /user HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\n", strings.TrimPrefix(s.api, "http://"))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Errorf("status %d, close %v; want 401 and the connection closed", resp.StatusCode, resp.Close)
		}
	})
}
