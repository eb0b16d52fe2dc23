package httpserve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usersvc/usersvc/web/httpserve/httpservetest"
)

// serve starts a Server with cfg on a loopback port.
func serve(t *testing.T, cfg Config) string { return httpservetest.Serve(t, New(cfg)) }

var (
	dial    = httpservetest.Dial
	readAll = httpservetest.ReadToClose
)

var readsForm = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "hello %s", r.PostFormValue("name"))
})

// The attack of issue 13: headers that announce a body, and no body. The
// server closes the connection once Grace has passed, instead of holding
// it for as long as the client likes.
func TestDeclaredBodyNeverSentIsCut(t *testing.T) {
	addr := serve(t, Config{Handler: readsForm, Limits: Limits{Grace: 300 * time.Millisecond}})
	c := dial(t, addr)
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
	got := readAll(t, c)
	if !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("answer = %q, want a 400 and a closed connection", got)
	}
}

// A trickle (a byte now and then) is cut as well: the deadline moves only
// by what the bytes received are worth at MinRate.
func TestTrickleIsCut(t *testing.T) {
	addr := serve(t, Config{Handler: readsForm, Limits: Limits{Grace: 300 * time.Millisecond, MinRate: 1 << 20}})
	c := dial(t, addr)
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
	done := make(chan string)
	go func() { done <- readAll(t, c) }()
	for i := 0; ; i++ {
		if _, err := c.Write([]byte("a")); err != nil {
			break // closed: what the test wants
		}
		select {
		case got := <-done:
			if !strings.HasPrefix(got, "HTTP/1.1 400") {
				t.Errorf("answer = %q, want a 400", got)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if i > 200 {
			t.Fatal("a trickling client kept its connection for 10 s")
		}
	}
	<-done
}

// A handler that answers without reading the body sends its reply at once
// (with Connection: close), not once the missing body times out.
func TestReplyWithoutReadingBodyIsNotHeld(t *testing.T) {
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	// A Grace far longer than the test's own bound: the reply must not
	// wait for it.
	addr := serve(t, Config{Handler: redirect, Limits: Limits{Grace: time.Hour}})
	c := dial(t, addr)
	fmt.Fprint(c, "POST /logout HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	if resp.StatusCode != http.StatusSeeOther || !resp.Close {
		t.Errorf("status %d, close %v; want 303 and the connection closed", resp.StatusCode, resp.Close)
	}
}

// A large upload that keeps a steady pace above MinRate succeeds, although
// it takes several times Grace.
func TestSlowSteadyUploadSucceeds(t *testing.T) {
	const size = 10 << 20
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	})
	addr := serve(t, Config{Handler: count, Limits: Limits{Grace: 200 * time.Millisecond, MinRate: 4 << 20, MaxBody: size}})
	c := dial(t, addr)
	fmt.Fprintf(c, "POST /user HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	// 256 KiB every 25 ms: about 10 MiB/s, so the upload lasts about a
	// second, five times Grace.
	chunk := bytes.Repeat([]byte("x"), 256<<10)
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			t.Fatalf("upload cut after %d bytes: %v", sent, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != fmt.Sprint(size) {
		t.Errorf("status %d body %q, want 200 %d", resp.StatusCode, b, size)
	}
}

// A route's own Limits (Apply, after routing) replace the server's.
func TestApplyReplacesServerLimits(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r = Apply(w, r, Limits{Grace: 200 * time.Millisecond})
		readsForm(w, r)
	})
	addr := serve(t, Config{Handler: h, Limits: Limits{Grace: time.Hour}})
	c := dial(t, addr)
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
	if got := readAll(t, c); !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("answer = %q, want a 400 and a closed connection", got)
	}
}

// Without a Server around it, Limit still bounds the body.
func TestLimitAlone(t *testing.T) {
	c := dial(t, httpservetest.Serve(t, &http.Server{Handler: Limit(Limits{Grace: 200 * time.Millisecond}, readsForm)}))
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
	if got := readAll(t, c); !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("answer = %q, want a 400 and a closed connection", got)
	}
}

// An ordinary exchange on a kept-alive connection still works: the
// deadlines of one request do not leak into the next.
func TestKeepAliveAfterBody(t *testing.T) {
	addr := serve(t, Config{Handler: readsForm, Limits: Limits{Grace: 100 * time.Millisecond}})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 3 {
		fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\n\r\nname=a")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "hello a" {
			t.Fatalf("request %d: %q", i, b)
		}
		// Longer than Grace: the deadline of the last body must not apply
		// to the wait for the next request.
		time.Sleep(200 * time.Millisecond)
	}
}

// The connection bound holds: past MaxConns, a new connection is not
// served until one closes.
func TestMaxConns(t *testing.T) {
	var mu sync.Mutex
	open, most := 0, 0
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Handler: readsForm, MaxConns: 2, ReadHeaderTimeout: time.Minute})
	accepted := make(chan struct{}, 10)
	s.ConnState = func(c net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateNew:
			open++
			most = max(most, open)
			accepted <- struct{}{}
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	var conns []net.Conn
	for range 5 {
		c := dial(t, ln.Addr().String())
		fmt.Fprint(c, "GET / HTTP/1.1\r\n") // and never the rest
		conns = append(conns, c)
	}
	<-accepted
	<-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(300 * time.Millisecond):
	}
	conns[0].Close()
	<-accepted // one left, one more comes in
	mu.Lock()
	defer mu.Unlock()
	if most > 2 {
		t.Errorf("%d connections open at once, want at most 2", most)
	}
}

func TestServeReturnsErrServerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Handler: readsForm})
	errc := make(chan error)
	go func() { errc <- s.Serve(ln) }()
	s.Close()
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
}

// busy stands for a handler that works before it reads the body (the
// gateway's authorizer refetching a key set): it waits d, then reads.
func busy(d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusRequestTimeout)
			return
		}
		fmt.Fprint(w, n)
	})
}

// Found by review: the body's clock started with the handler, so a handler
// that worked longer than Grace before its first Read timed out a body
// that had arrived whole at once. The clock starts at the first Read.
func TestBusyHandlerStillGetsABodySentAtOnce(t *testing.T) {
	const size = 1 << 20
	addr := serve(t, Config{Handler: busy(500 * time.Millisecond), Limits: Limits{Grace: 200 * time.Millisecond, MaxBody: size}})
	c := dial(t, addr)
	go func() {
		// At once: headers and the whole body in one go.
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", size, bytes.Repeat([]byte("x"), size))
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != fmt.Sprint(size) {
		t.Errorf("status %d body %q, want 200 %d", resp.StatusCode, b, size)
	}
}

// A busy handler does not give a trickling client more than its Grace
// once reading begins.
func TestBusyHandlerStillCutsATrickle(t *testing.T) {
	addr := serve(t, Config{Handler: busy(300 * time.Millisecond), Limits: Limits{Grace: 200 * time.Millisecond, MinRate: 1 << 20}})
	c := dial(t, addr)
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	type answer struct {
		b   []byte
		err error
	}
	done := make(chan answer, 1)
	go func() {
		b, err := io.ReadAll(c)
		done <- answer{b, err}
	}()
	for i := 0; ; i++ {
		select {
		case a := <-done:
			// Closed, with a 408, or reset by the close while a byte was on
			// its way: cut either way. Not cut is the dial's deadline.
			if errors.Is(a.err, os.ErrDeadlineExceeded) || a.err == nil && !strings.HasPrefix(string(a.b), "HTTP/1.1 408") {
				t.Errorf("answer %q, %v; want a 408 and a closed connection", a.b, a.err)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if i > 200 {
			t.Fatal("a trickling client kept its connection for 10 s")
		}
		c.Write([]byte("a"))
	}
}

// blackHole stands for a handler waiting on a backend that never answers
// (DynamoDB behind a dropped route): it returns only when the request's
// context ends, and says why.
var blackHole = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, ok := r.Context().Deadline(); !ok {
		http.Error(w, "no deadline", http.StatusInternalServerError)
		return
	}
	<-r.Context().Done()
	http.Error(w, r.Context().Err().Error(), http.StatusGatewayTimeout)
})

// Found by review: nothing bounded a handler's time, so one stuck on a
// black-holed backend held its goroutine and connection for ever. The
// request's context ends at its deadline.
func TestStuckHandlerIsCancelled(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		req  string
	}{
		{"server limits", Config{Handler: blackHole, Limits: Limits{Grace: 100 * time.Millisecond, Handle: 200 * time.Millisecond}},
			"GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"with a body", Config{Handler: blackHole, Limits: Limits{Grace: 100 * time.Millisecond, Handle: 200 * time.Millisecond}},
			"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"},
		// A route's own Limits (Apply) set its deadline, shorter or longer
		// than the server's.
		{"route limits", Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r = Apply(w, r, Limits{Grace: 100 * time.Millisecond, Handle: 200 * time.Millisecond})
			blackHole(w, r)
		}), Limits: Limits{Handle: time.Hour}},
			"GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, serve(t, tc.cfg))
			fmt.Fprint(c, tc.req)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(b), context.DeadlineExceeded.Error()) {
				t.Errorf("status %d %q, want 504 and the deadline", resp.StatusCode, b)
			}
		})
	}
}

// The deadline is the request's bound as documented: Grace, the declared
// body at MinRate, and Handle.
func TestDeadlineCoversBodyAndHandling(t *testing.T) {
	l := Limits{Grace: time.Second, MinRate: 1000, MaxBody: 1 << 20, Handle: time.Minute}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 5000)))
	before := time.Now()
	_, r := Apply(httptest.NewRecorder(), req, l)
	dl, ok := r.Context().Deadline()
	want := time.Second + 5*time.Second + time.Minute
	if !ok || dl.Before(before.Add(want)) || dl.After(time.Now().Add(want)) {
		t.Errorf("deadline in %v, want %v", dl.Sub(before), want)
	}
}

// Found by review: Apply set the caller's r.Body before copying the
// request. The caller's request is left as it was.
func TestApplyLeavesCallersRequest(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("name=a"))
	body, ctx := req.Body, req.Context()
	_, r := Apply(httptest.NewRecorder(), req, Form)
	if req.Body != body || req.Context() != ctx {
		t.Error("Apply changed the caller's request")
	}
	if r == req || r.Body == body {
		t.Error("Apply did not give the request to use its own tracked body")
	}
	if b, _ := io.ReadAll(r.Body); string(b) != "name=a" {
		t.Errorf("body %q", b)
	}
}

// A handler that never reads the body does not leave the connection open
// for as long as the client likes: after the handler, net/http reads what
// is left of a small body (up to 256 KB) to reuse the connection, and that
// read has Grace, as a handler's would.
func TestUnreadBodyDoesNotHoldTheConnection(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"reply without reading", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}},
		{"return without a word", func(w http.ResponseWriter, r *http.Request) {}},
		{"busy, then reply without reading", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond)
			http.Error(w, "no", http.StatusForbidden)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, serve(t, Config{Handler: tc.h, Limits: Limits{Grace: 200 * time.Millisecond}}))
			fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
			if got := readAll(t, c); !strings.HasPrefix(got, "HTTP/1.1 ") {
				t.Errorf("answer = %q", got)
			}
		})
	}
}
