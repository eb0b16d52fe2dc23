package dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// One dynalite serves the whole test binary; every store gets its own table.
var (
	dynaliteURL  string // http://127.0.0.1:port, "" when not running
	dynaliteSkip string // why dynalite is not running
	tables       atomic.Int64
)

func TestMain(m *testing.M) {
	// dynalite's death signal (see setDeathSignal) fires when the thread
	// that started it ends; this one lives as long as the test binary.
	runtime.LockOSThread()
	stop, err := startDynalite()
	if err != nil {
		dynaliteSkip = err.Error()
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// startDynalite runs the project's dynalite (npm install puts it in
// node_modules) in memory on a free loopback port and waits until it
// answers.
func startDynalite() (stop func(), err error) {
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
		return nil, fmt.Errorf("dynalite is not installed at %s (run npm install in %s)", cli, root)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0")
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
			dynaliteURL = "http://" + addr
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

// moduleRoot walks up from the working directory to the one with go.mod.
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
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// freePort asks the kernel for a free loopback port. dynalite cannot be
// told to pick one itself (it takes port 0 for its default, 4567), so
// there is a short window in which another process could take it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// needDynalite skips the test when dynalite is not running, unless CI=true,
// where the DynamoDB tests are mandatory.
func needDynalite(tb testing.TB) {
	tb.Helper()
	if dynaliteURL != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("dynalite is required when CI=true: %s", dynaliteSkip)
	}
	tb.Skipf("skipping DynamoDB test: %s", dynaliteSkip)
}

// testClient returns a client of endpoint with dummy credentials, as a local
// DynamoDB accepts any.
func testClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	opts := dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	return dynamodb.New(opts, optFns...)
}

// newTestStore returns a Store on a new, empty table in the shared dynalite.
func newTestStore(tb testing.TB) *Store {
	tb.Helper()
	needDynalite(tb)
	table := fmt.Sprintf("test-%d", tables.Add(1))
	s := New(testClient(dynaliteURL), table, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.EnsureTable(ctx); err != nil {
		tb.Fatalf("ensure table: %v", err)
	}
	tb.Cleanup(func() {
		// Dropping the table keeps dynalite's memory flat over a long run.
		_, _ = s.client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	return s
}
