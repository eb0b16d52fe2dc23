// Package httpservetest provides what tests of slow and stalled clients
// need: a server on a loopback port, and a raw connection to it that a
// test can write a request to a byte at a time.
package httpservetest

import (
	"io"
	"net"
	"testing"
	"time"
)

// Bound is how long a connection from Dial lives: a bound on a test that
// would otherwise hang, not a timing assertion.
const Bound = 20 * time.Second

// Server is what Serve starts: an httpserve.Server or an http.Server.
type Server interface {
	Serve(net.Listener) error
	Close() error
}

// Serve serves s on a loopback port until the test ends and returns its
// address.
func Serve(t testing.TB, s Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

// Dial opens a connection to addr, closed when the test ends, with a
// deadline Bound away.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(Bound))
	return c
}

// ReadToClose reads c until the server closes it, and fails the test if
// the server did not (within Bound).
func ReadToClose(t testing.TB, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the server did not close the connection: %v (read %q)", err, b)
	}
	return string(b)
}
