package admin_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/accounts/accountstest"
	"github.com/usersvc/usersvc/web/portal/admin"
)

// BenchmarkAccountsPageStub renders the Accounts page with an email
// filter over 10,000 accounts, the in-memory stub's ListUsers included
// (a linear scan, as a naive pool would do). The figure: under 30
// ms. BenchmarkAccountsPage (idp_test.go) measures the same over the
// local provider's real API.
func BenchmarkAccountsPageStub(b *testing.B) {
	pool := accountstest.NewPool(poolID)
	for i := range 10_000 {
		pool.Add(accountstest.User{Email: fmt.Sprintf("user%05d@example.com", i), Enabled: true})
	}
	portal := &fakePortal{viewers: map[string]admin.Viewer{"ada": {Subject: "s", Username: "ada", Groups: []string{"admins"}}}}
	h := admin.New(admin.Config{Accounts: accounts.New(pool, poolID), Portal: portal, Log: slog.New(slog.DiscardHandler)})
	benchPage(b, h, "/admin/accounts?email=user09")
}

func benchPage(b *testing.B, h http.Handler, target string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.AddCookie(&http.Cookie{Name: "who", Value: "ada"})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
