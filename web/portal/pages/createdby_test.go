package pages_test

import (
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/portal/pages"
)

func TestLookupLinksCreatedByForAdmins(t *testing.T) {
	item := map[string]any{"UserId": "ada", "CreatedBy": "sub-1&x"}
	link := `href="/admin/accounts/find?id=sub-1%26x"`
	if html := render(t, pages.LookupPage(signedIn(true), pages.Lookup{UserID: "ada", Asked: true, Item: item})); !strings.Contains(html, link) {
		t.Errorf("an admin's lookup page lacks %s:\n%s", link, html)
	}
	if html := render(t, pages.LookupPage(signedIn(false), pages.Lookup{UserID: "ada", Asked: true, Item: item})); strings.Contains(html, "/admin/accounts/find") {
		t.Error("a non-admin's lookup page links to the account screens")
	}
	delete(item, "CreatedBy")
	if html := render(t, pages.LookupPage(signedIn(true), pages.Lookup{UserID: "ada", Asked: true, Item: item})); strings.Contains(html, "/admin/accounts/find") {
		t.Error("a link without a CreatedBy")
	}
}
