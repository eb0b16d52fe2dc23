package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestAPIRequiresWhatItTrusts is the attack of issue 13, point 7: with a
// default issuer on localhost:9229, whatever process took that port first
// minted tokens the gateway accepted. Without -issuer and -audience the
// command refuses to start, and listens on nothing.
func TestAPIRequiresWhatItTrusts(t *testing.T) {
	for _, args := range [][]string{
		{"api"},
		{"api", "-issuer", "http://localhost:9229/us-east-1_LocalPool"},
		{"api", "-audience", "portal"},
		{"api", "-issuer", "http://localhost:9229/us-east-1_LocalPool", "-audience", " , "},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			// A free port: the command must not bind it.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			args := append(args, "-addr", addr, "-data", t.TempDir())
			var out, errOut bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = run(ctx, args, func(string) string { return "" }, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "-issuer and -audience are required") {
				t.Fatalf("err = %v, want a refusal naming -issuer and -audience", err)
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Errorf("something listens on %s after the refusal", addr)
			}
		})
	}
}

// TestAPIPrintsWhatItTrusts: a started API says which issuer and app
// clients it trusts before serving.
func TestAPIPrintsWhatItTrusts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"api", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-access-log", "",
			"-issuer", "http://localhost:1/us-east-1_Pool", "-audience", "portal,portal-cli"},
			func(string) string { return "" }, out, &lockedBuffer{})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "trusts issuer") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := "(trusts issuer http://localhost:1/us-east-1_Pool, app clients portal,portal-cli)"; !strings.Contains(out.String(), want) {
		t.Errorf("stdout %q lacks %q", out.String(), want)
	}
}
