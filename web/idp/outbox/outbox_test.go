package outbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSendListAndFind(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	o := New(dir, "no-reply@localhost", nil, func() time.Time { now = now.Add(time.Second); return now })
	long := "http://localhost:9229/confirmUser?client_id=portal&user_name=8c1d2b7e-0000-4000-8000-000000000000&confirmation_code=ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	if _, err := o.Send("a@example.com", "Verify your email", "Click:\n"+long+"\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Send("b@example.com", "Réinitialiser", "Your code is 012345 \n"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Fatalf("%d files in outbox, want 2", len(ents))
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ents[0].Name()))
	for _, h := range []string{"From: <no-reply@localhost>\r\n", "To: <a@example.com>\r\n", "Date: ", "Message-ID: <", "MIME-Version: 1.0\r\n"} {
		if !strings.Contains(string(raw), h) {
			t.Errorf("message lacks header %q:\n%s", h, raw)
		}
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78 characters: %q", line)
		}
	}

	ms, err := o.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].To != "b@example.com" || ms[0].Subject != "Réinitialiser" {
		t.Fatalf("List = %+v, want newest (b, Réinitialiser) first", ms)
	}
	if got := ms[0].Code(); got != "012345" {
		t.Errorf("Code = %q", got)
	}
	link, err := o.VerificationLink("A@example.com", "/confirmUser")
	if err != nil || link != long {
		t.Fatalf("VerificationLink = %q, %v; want %q", link, err, long)
	}
	if _, err := o.VerificationLink("nobody@example.com", "/confirmUser"); err == nil {
		t.Fatal("found a link in mail never sent")
	}
}
