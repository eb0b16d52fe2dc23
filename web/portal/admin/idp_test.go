package admin_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/accounts/accountstest"
	"github.com/usersvc/usersvc/web/idp/users"
	"github.com/usersvc/usersvc/web/portal/admin"
)

// providerEnv is the screens over the local identity provider's Cognito
// API, with its seeded admin signed in as "root".
func providerEnv(t testing.TB, fill func(*users.Store)) (*env, *accountstest.Provider, accounts.Account) {
	t.Helper()
	p := accountstest.StartProvider(t, "root@example.com", "Root-pass1!", fill)
	svc := accounts.New(p.Client, p.PoolID)
	root, err := svc.Find(context.Background(), "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{log: &syncBuffer{}, portal: &fakePortal{viewers: map[string]admin.Viewer{
		"root": {Subject: root.Sub, Username: root.Username, Groups: []string{"admins"}},
	}}}
	e.h = admin.New(admin.Config{Accounts: svc, Portal: e.portal, Log: slog.New(slog.NewJSONHandler(e.log, nil))})
	return e, p, root
}

func TestScreensAgainstLocalProvider(t *testing.T) {
	e, p, root := providerEnv(t, nil)
	// Invite an admin; the mail goes to the outbox.
	r := e.post(t, "root", "/admin/accounts/invite", url.Values{"email": {"new@example.com"}, "admin": {"yes"}})
	mustStatus(t, r, http.StatusSeeOther)
	if m, err := p.Server.Outbox().Latest("new@example.com"); err != nil || !strings.Contains(m.Body, "temporary password") {
		t.Fatalf("invitation: %v", err)
	}
	page := e.get(t, "root", r.header.Get("Location"))
	mustStatus(t, page, http.StatusOK)
	for _, want := range []string{"new@example.com", "FORCE_CHANGE_PASSWORD", "admins"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("account page lacks %q", want)
		}
	}

	// Disable them through the confirmation step.
	f := page.formWith(t, "Disable")
	r = e.post(t, "root", f.action, nil)
	mustStatus(t, r, http.StatusOK)
	c := r.formWith(t, "Confirm")
	r = e.post(t, "root", c.action, c.hidden)
	mustStatus(t, r, http.StatusSeeOther)
	page = e.get(t, "root", r.header.Get("Location"))
	if page.flash() != "Disabled new@example.com." || !strings.Contains(page.body, "disabled") {
		t.Errorf("after Disable: flash %q", page.flash())
	}

	// Search finds them by prefix; quotes find nothing.
	r = e.get(t, "root", admin.SearchURL("new@"))
	if !strings.Contains(r.body, "new@example.com") {
		t.Errorf("search:\n%s", r.body)
	}
	r = e.get(t, "root", admin.SearchURL(`new" or email ^= "`))
	mustStatus(t, r, http.StatusOK)
	if strings.Contains(r.body, "new@example.com</a>") {
		t.Error("an injected filter matched")
	}

	// Root cannot disable root.
	r = e.post(t, "root", admin.AccountURL(root.Username)+"/disable", url.Values{"confirm": {"yes"}})
	mustStatus(t, r, http.StatusForbidden)

	lines := e.log.lines(t, "account audit")
	if len(lines) != 3 || lines[0]["what"] != "invite admin" || lines[1]["what"] != "disable" || lines[1]["result"] != "ok" || lines[2]["result"] != "refused: own account" {
		t.Errorf("audit %v", lines)
	}
}

// BenchmarkAccountsPage renders the Accounts page with an email filter
// over 10,000 accounts of the local identity provider, its ListUsers call
// through the SDK (signed, over loopback HTTP) included. The issue's
// figure: under 30 ms.
func BenchmarkAccountsPage(b *testing.B) {
	e, _, _ := providerEnv(b, func(s *users.Store) {
		for i := range 10_000 {
			if _, err := s.Create(context.Background(), fmt.Sprintf("user%05d@example.com", i), "Some-pass1!", users.Confirmed, true, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		r := e.get(b, "root", "/admin/accounts?email=user09")
		if r.status != http.StatusOK || !strings.Contains(r.body, "user09000@example.com") {
			b.Fatalf("status %d: %s\n%s", r.status, r.body, e.log.b.String())
		}
	}
}
