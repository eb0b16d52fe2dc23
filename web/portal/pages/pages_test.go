package pages_test

import (
	"context"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/usersvc/usersvc/web/portal/pages"
)

func render(t testing.TB, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var layout = pages.Layout{Title: "T", CSS: "/static/portal.css", Logo: "/static/logo.svg"}

func signedIn(admin bool) pages.Layout {
	l := layout
	l.User = &pages.User{Email: "ada@example.com", Admin: admin}
	return l
}

// sampleItem has every kind of value an item may hold.
func sampleItem() map[string]any {
	return map[string]any{
		"UserId": "ada", "Name": "Ada <Lovelace>", "Age": json.Number("36"), "Pi": json.Number("3.14159265358979323846264338327950288"),
		"Admin": true, "Nothing": nil, "Empty": map[string]any{}, "None": []any{},
		"Address":   map[string]any{"City": "London", "Geo": map[string]any{"Lat": json.Number("51.5")}},
		"Tags":      []any{"a", json.Number("1"), false, nil, []any{"nested"}, map[string]any{"k": "v"}},
		"CreatedAt": "2026-01-01T00:00:00.000Z",
	}
}

func TestLookupRendersEveryValueKind(t *testing.T) {
	html := render(t, pages.LookupPage(signedIn(false), pages.Lookup{UserID: "ada", Asked: true, Item: sampleItem()}))
	for _, want := range []string{
		"Ada &lt;Lovelace&gt;", // escaped
		`<span class="value-number">3.14159265358979323846264338327950288</span>`,
		`<span class="value-bool">true</span>`, `<span class="value-null">null</span>`,
		`<span class="value-null">{}</span>`, `<span class="value-null">[]</span>`,
		"London", "51.5", "nested", ">k<",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("lookup page lacks %q", want)
		}
	}
	if strings.Index(html, ">UserId<") > strings.Index(html, ">Address<") {
		t.Error("UserId is not the first attribute")
	}
}

func TestLookupNotFound(t *testing.T) {
	html := render(t, pages.LookupPage(signedIn(false), pages.Lookup{UserID: "<nobody>", Asked: true}))
	if !strings.Contains(html, "Not found") || !strings.Contains(html, "&lt;nobody&gt;") {
		t.Errorf("not-found state missing:\n%s", html)
	}
}

// TestAccessible checks, on every page, that each input has a label, that
// no inline script or style exists, and the navigation by role.
func TestAccessible(t *testing.T) {
	cases := map[string]templ.Component{
		"home out": pages.Home(layout),
		"home in":  pages.Home(signedIn(true)),
		"profile":  pages.ProfilePage(signedIn(false), pages.Profile{Email: "a@b", Groups: []string{"admins"}, TokenExpiry: time.Now()}),
		"create":   pages.CreatePage(signedIn(false), pages.CreateForm{Rows: make([]pages.Row, 3), Error: "bad", Field: "row-1"}),
		"lookup":   pages.LookupPage(signedIn(false), pages.Lookup{UserID: "ada", Asked: true, Item: sampleItem()}),
		"users":    pages.UsersPage(signedIn(true), pages.Users{Users: []map[string]any{sampleItem()}, Next: "/admin/users?cursor=x", Prev: "/admin/users"}),
		"error":    pages.ErrorPage(layout, pages.Error{Status: 500, Title: "Oops", Message: "m", RequestID: "r1"}),
	}
	idRe := regexp.MustCompile(`<(?:input|select|textarea)[^>]*\bid="([^"]+)"`)
	forRe := regexp.MustCompile(`<label[^>]*\bfor="([^"]+)"`)
	for name, c := range cases {
		html := render(t, c)
		var labelled []string
		for _, m := range forRe.FindAllStringSubmatch(html, -1) {
			labelled = append(labelled, m[1])
		}
		for _, m := range idRe.FindAllStringSubmatch(html, -1) {
			if !slices.Contains(labelled, m[1]) {
				t.Errorf("%s: input #%s has no label", name, m[1])
			}
		}
		if n := strings.Count(html, "<input") + strings.Count(html, "<select") + strings.Count(html, "<textarea"); n != len(idRe.FindAllString(html, -1)) {
			t.Errorf("%s: an input has no id", name)
		}
		for _, bad := range []string{"<script", " style=", "<style", "javascript:"} {
			if strings.Contains(html, bad) {
				t.Errorf("%s: contains %q", name, bad)
			}
		}
		if !strings.Contains(html, `<html lang="en">`) || !strings.Contains(html, `name="viewport"`) {
			t.Errorf("%s: no lang or viewport", name)
		}
	}
	admin := render(t, pages.Home(signedIn(true)))
	user := render(t, pages.Home(signedIn(false)))
	if !strings.Contains(admin, `href="/admin/users"`) || strings.Contains(user, `href="/admin/users"`) {
		t.Error("the Users link must show for admins only")
	}
}

// BenchmarkLookupPage renders a Look up page with a typical item (the API
// call excluded): the figure the issue asks for, under 1 ms.
func BenchmarkLookupPage(b *testing.B) {
	l := signedIn(true)
	v := pages.Lookup{UserID: "ada", Asked: true, Item: sampleItem()}
	c := pages.LookupPage(l, v)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Render(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
