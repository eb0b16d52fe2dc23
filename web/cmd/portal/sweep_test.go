package main

import (
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usersvc/usersvc/web/portal/session"
)

// TestPortalSweepStopsBeforeClose: the portal's sweep of expired sessions
// runs while it serves, and its close function stops and waits for the
// sweep before closing the store, so no sweep ever meets a closed store.
func TestPortalSweepStopsBeforeClose(t *testing.T) {
	data := t.TempDir()
	st, err := session.Open(filepath.Join(data, "portal-sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Create(t.Context(), &session.Session{Expires: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	logs := &lockedBuffer{}
	_, closePortal, err := newPortal(t.Context(), portalOptions{
		issuer: "http://127.0.0.1:1/pool", clientID: "portal", apiURL: "http://127.0.0.1:1",
		dataDir: data, log: slog.New(slog.NewTextHandler(logs, nil)), sweepEvery: time.Millisecond,
	}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "swept expired sessions") {
		if time.Now().After(deadline) {
			t.Fatalf("no sweep within 5 s; log:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	closePortal()
	time.Sleep(20 * time.Millisecond) // twenty sweep intervals
	if strings.Contains(logs.String(), "sweep sessions") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a sweep ran after close:\n%s", logs.String())
	}
}
