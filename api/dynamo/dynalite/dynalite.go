// Package dynalite runs dynalite, a DynamoDB-compatible server in Node.js
// (the module's package.json installs it into node_modules), for tests:
// one in-memory server per test binary, started by Main from TestMain.
// Every suite that runs against DynamoDB (api/dynamo's, the portal's
// session store and portal) starts it through this package, so they skip,
// or under CI=true fail, alike.
package dynalite

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

var (
	url  string // http://127.0.0.1:port, "" when not running
	skip string // why dynalite is not running
)

// Main starts dynalite, runs the tests, stops it and exits. Call it from
// TestMain.
func Main(m *testing.M) {
	// The death signal (see setDeathSignal) fires when the thread that
	// started dynalite ends; this one lives as long as the test binary.
	runtime.LockOSThread()
	stop, err := Start()
	if err != nil {
		skip = err.Error()
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// URL returns the endpoint of the binary's dynalite, or skips tb when it is
// not running, unless CI=true, where DynamoDB tests are mandatory.
func URL(tb testing.TB) string {
	tb.Helper()
	if url != "" {
		return url
	}
	if skip == "" {
		skip = "dynalite.Main was not called from TestMain"
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("dynalite is required when CI=true: %s", skip)
	}
	tb.Skipf("skipping DynamoDB test: %s", skip)
	return ""
}

// Start runs dynalite in memory on a free loopback port, waits until it
// answers, and sets the endpoint URL returns. stop kills it.
func Start() (stop func(), err error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not installed (needed to run dynalite)")
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	cli := filepath.Join(root, "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(cli); err != nil {
		return nil, fmt.Errorf("dynalite is not installed at %s (run npm ci in %s)", cli, root)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
			url = "http://" + addr
			return stop, nil
		}
		select {
		case err := <-exited:
			exited <- err // for stop
			return nil, fmt.Errorf("dynalite exited before it answered: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("dynalite did not answer on %s within 15s", addr)
		}
	}
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// freePort asks the kernel for a free loopback port; dynalite cannot pick
// one itself, so another process could take it in the short window.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
