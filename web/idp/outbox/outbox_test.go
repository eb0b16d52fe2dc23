package outbox

import (
	"fmt"
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

// The outbox page reads one page of files, however many there are, and
// walks back through the rest with the cursor it returns.
func TestPage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	o := New(dir, "no-reply@localhost", nil, func() time.Time { now = now.Add(time.Second); return now })
	for i := range 25 {
		if _, err := o.Send(fmt.Sprintf("u%02d@example.com", i), "hi", "body\n"); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	before := ""
	for pages := 0; ; pages++ {
		ms, next, err := o.Page(before, 10)
		if err != nil {
			t.Fatal(err)
		}
		if pages < 2 && len(ms) != 10 || pages == 2 && len(ms) != 5 || pages > 2 {
			t.Fatalf("page %d has %d messages", pages, len(ms))
		}
		for _, m := range ms {
			got = append(got, m.To)
		}
		if next == "" {
			break
		}
		before = next
	}
	if len(got) != 25 || got[0] != "u24@example.com" || got[24] != "u00@example.com" {
		t.Fatalf("pages gave %v, want u24 down to u00", got)
	}
	// A cursor whose message is gone still leads on to older ones.
	ms, _, _ := o.Page("20260101T120010.000000000Z-99999999-x", 3)
	if len(ms) != 3 || ms[0].To != "u09@example.com" {
		t.Fatalf("page before a missing message = %+v", ms)
	}
}

// A page of no messages is an empty answer, not a panic, however many
// messages there are (found by review: Page(before, 0) indexed ids[-1]).
func TestPageOfNone(t *testing.T) {
	o := New(filepath.Join(t.TempDir(), "outbox"), "no-reply@localhost", nil, nil)
	for i := range 3 {
		if _, err := o.Send(fmt.Sprintf("u%d@example.com", i), "hi", "body\n"); err != nil {
			t.Fatal(err)
		}
	}
	first, _, err := o.Page("", 1)
	if err != nil || len(first) != 1 {
		t.Fatalf("first page: %v, %v", first, err)
	}
	for _, before := range []string{"", first[0].ID} {
		ms, next, err := o.Page(before, 0)
		if err != nil || len(ms) != 0 || next != "" {
			t.Errorf("Page(%q, 0) = %v, %q, %v; want nothing", before, ms, next, err)
		}
	}
}
