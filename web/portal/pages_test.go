package portal_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/client"
)

func TestHomePage(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)
	p := h.get(c, "/")
	mustContain(t, p, "ada@example.com", "Sign out", ">Create user<", ">Look up<")
	mustNotContain(t, p, `href="/admin/users"`, ">Sign up<")
}

func TestCreateUser(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)

	form := h.get(c, "/user/new")
	mustContain(t, form, `<label for="UserId">User ID</label>`, `<label for="Attributes">`, "Attributes", `name="name"`, "Create user")

	tests := []struct {
		name   string
		form   url.Values
		status int
		want   []string // on the page
	}{
		{"rows and json", url.Values{
			"UserId": {"ada"}, "Attributes": {`{"Address": {"City": "London"}, "Tags": ["a", 1]}`},
			"name": {"Age", "Admin", "Note", ""}, "type": {"number", "boolean", "string", "string"}, "value": {"36.50", "true", " hi ", ""},
			"action": {"create"},
		}, 200, []string{"Created user ada.", "London", "36.50", "true", "Tags"}},
		{"taken", url.Values{"UserId": {"ada"}, "Attributes": {`{"Kept": "yes"}`}}, 409, []string{"A user with this UserId already exists", `value="ada"`, "{&#34;Kept&#34;: &#34;yes&#34;}"}},
		{"empty id", url.Values{"UserId": {"  "}}, 400, []string{"User ID: ", "must not be empty", `aria-invalid="true"`}},
		{"not an object", url.Values{"UserId": {"b"}, "Attributes": {`[1, 2]`}}, 400, []string{"Attributes must be a JSON object"}},
		{"bad json", url.Values{"UserId": {"b"}, "Attributes": {`{"a": }`}}, 400, []string{"Attributes must be a JSON object", "{&#34;a&#34;: }"}},
		{"bad number", url.Values{"UserId": {"b"}, "name": {"n"}, "type": {"number"}, "value": {"12abc"}}, 400, []string{"Row 1 (n): not a number", `value="12abc"`}},
		{"bad boolean", url.Values{"UserId": {"b"}, "name": {"n"}, "type": {"boolean"}, "value": {"yes"}}, 400, []string{"a boolean is true or false"}},
		{"value without name", url.Values{"UserId": {"b"}, "name": {""}, "type": {"string"}, "value": {"v"}}, 400, []string{"Row 1 has a value but no name"}},
		{"twice", url.Values{"UserId": {"b"}, "Attributes": {`{"n": 1}`}, "name": {"n"}, "type": {"string"}, "value": {"v"}}, 400, []string{"Attribute &#34;n&#34; is given twice"}},
		{"other UserId in json", url.Values{"UserId": {"b"}, "Attributes": {`{"UserId": "c"}`}}, 400, []string{"UserId different"}},
		{"too large", url.Values{"UserId": {"big"}, "Attributes": {`{"Blob": "` + strings.Repeat("x", 2000) + `"}`}}, 413, []string{"Item exceeds DynamoDB&#39;s 400 KB item size limit"}},
		{"add row", url.Values{"UserId": {"keep"}, "name": {"a", "b", "c"}, "type": {"string", "string", "string"}, "value": {"1", "2", "3"}, "action": {"add-row"}}, 200, []string{`id="row-3-name"`, `value="keep"`, `value="3"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := h.post(c, "/user/new", tt.form)
			if p.status != tt.status {
				t.Errorf("status %d, want %d", p.status, tt.status)
			}
			mustContain(t, p, tt.want...)
		})
	}
	got := h.users.items["ada"]
	b, _ := json.Marshal(got)
	want := `{"Address":{"City":"London"},"Admin":true,"Age":36.50,"CreatedAt":"2026-01-01T00:00:00.000Z","Note":" hi ","Tags":["a",1],"UserId":"ada"}`
	if string(b) != want {
		t.Errorf("the API got %s\nwant %s", b, want)
	}
	if _, ok := h.users.items["keep"]; ok {
		t.Error("adding a row created the user")
	}
}

// TestCreateFormUnreadable: only a form over the size limit is 413; one
// that cannot be decoded is the client's mistake, 400. Neither reaches the
// API.
func TestCreateFormUnreadable(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)
	for _, tt := range []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"over the limit", "UserId=big&Attributes=" + strings.Repeat("x", 3<<20), http.StatusRequestEntityTooLarge, "The form is too large"},
		{"bad escape", "UserId=%zz&action=create", http.StatusBadRequest, "The form could not be read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", h.url+"/user/new", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", h.url)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			p := h.do(c, req)
			if p.status != tt.status {
				t.Errorf("status %d, want %d", p.status, tt.status)
			}
			mustContain(t, p, tt.want, `<label for="UserId">User ID</label>`)
		})
	}
	if len(h.users.items) != 0 {
		t.Errorf("the API got %v", h.users.items)
	}
}

func TestLookup(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)
	h.users.items["ada"] = api.Item{
		"UserId": "ada", "Age": json.Number("36"), "Nil": nil, "On": false,
		"Address": map[string]any{"City": "<London>"}, "Tags": []any{"x", map[string]any{"deep": "yes"}},
	}
	p := h.get(c, "/user")
	mustContain(t, p, `<label for="UserId">User ID</label>`)
	mustNotContain(t, p, "Not found")

	p = h.get(c, "/user?UserId=ada")
	if p.status != 200 {
		t.Fatalf("status %d", p.status)
	}
	mustContain(t, p, "<th scope=\"row\">Age</th>", "36", "&lt;London&gt;", "deep", "null", "false")
	if strings.Index(p.body, ">UserId<") > strings.Index(p.body, ">Address<") {
		t.Error("UserId is not the first row")
	}

	p = h.get(c, "/user?UserId=nobody")
	if p.status != http.StatusNotFound {
		t.Errorf("absent user: %d", p.status)
	}
	mustContain(t, p, "Not found", "nobody")

	p = h.get(c, "/user?UserId=")
	if p.status != http.StatusBadRequest {
		t.Errorf("empty id: %d", p.status)
	}
	mustContain(t, p, "must not be empty")
}

func TestUsersPage(t *testing.T) {
	h := newHarness(t)
	for i := range 60 {
		id := fmt.Sprintf("user-%02d", i)
		h.users.items[id] = api.Item{"UserId": id}
	}

	t.Run("refused to non-admins", func(t *testing.T) {
		c := h.signIn(ada)
		p := h.get(c, "/admin/users")
		if p.status != http.StatusForbidden {
			t.Errorf("status %d", p.status)
		}
		mustContain(t, p, "for administrators")
		mustNotContain(t, p, `href="/admin/users"`, "user-00")
	})

	t.Run("pages for admins", func(t *testing.T) {
		c := h.signIn(admin)
		p := h.get(c, "/admin/users")
		mustContain(t, p, "user-00", "user-24", `href="/user?UserId=user-00"`, ">Next<")
		mustNotContain(t, p, "user-25", ">Previous<")
		next := func(p page, rel string) string {
			i := strings.Index(p.body, `rel="`+rel+`"`)
			j := strings.LastIndex(p.body[:i], `href="`)
			return strings.ReplaceAll(p.body[j+6:i-2], "&amp;", "&")
		}
		p2 := h.get(c, next(p, "next"))
		mustContain(t, p2, "user-25", "user-49", ">Previous<", ">Next<")
		p3 := h.get(c, next(p2, "next"))
		mustContain(t, p3, "user-50", "user-59", ">Previous<")
		mustNotContain(t, p3, ">Next<")
		back := h.get(c, next(p3, "prev"))
		mustContain(t, back, "user-25", "user-49")
		first := h.get(c, next(back, "prev"))
		mustContain(t, first, "user-00")
		mustNotContain(t, first, ">Previous<")
	})

	t.Run("api refuses", func(t *testing.T) {
		c := h.signIn(admin)
		h.users.setFail(&client.Error{Status: 403, Message: "Forbidden"})
		defer h.users.setFail(nil)
		if p := h.get(c, "/admin/users"); p.status != http.StatusForbidden {
			t.Errorf("status %d", p.status)
		}
	})
}

// link returns the address of the link rel (next, prev) on p, unescaped.
func link(t *testing.T, p page, rel string) string {
	t.Helper()
	i := strings.Index(p.body, `rel="`+rel+`"`)
	if i < 0 {
		t.Fatalf("page %s has no %s link:\n%s", p.url, rel, p.body)
	}
	j := strings.LastIndex(p.body[:i], `href="`)
	return html.UnescapeString(p.body[j+6 : i-2])
}

// listed returns the UserIds the Users page p links to, in order.
func listed(p page) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`href="/user\?UserId=([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
		v, _ := url.ParseQuery("UserId=" + html.UnescapeString(m[1]))
		ids = append(ids, v.Get("UserId"))
	}
	return ids
}

func TestUsersPageCreatedBy(t *testing.T) {
	h := newHarness(t)
	const sub = "a b&c=d/é" // needs escaping in a URL and in HTML
	var want []string
	for i := range 80 {
		id := fmt.Sprintf("item-%02d", i)
		item := api.Item{"UserId": id, "CreatedBy": "sub-other"}
		if i%2 == 0 {
			item["CreatedBy"] = sub
			want = append(want, id)
		}
		h.users.items[id] = item
	}
	h.users.items["none"] = api.Item{"UserId": "none"}
	c := h.signIn(admin)
	first := "/admin/users?" + url.Values{"createdBy": {sub}}.Encode()

	t.Run("pages within the filter", func(t *testing.T) {
		p := h.get(c, first)
		if p.status != 200 {
			t.Fatalf("status %d:\n%s", p.status, p.body)
		}
		mustContain(t, p, "Items created by", html.EscapeString(sub), "<title>Items created by "+html.EscapeString(sub),
			`href="/admin/accounts/find?id=a+b%26c%3Dd%2F%C3%A9"`, `href="/admin/users">All users<`, ">Next<")
		mustNotContain(t, p, ">Previous<", "<h1>Users</h1>")
		var got []string
		got = append(got, listed(p)...)
		next := link(t, p, "next")
		if !strings.Contains(next, "createdBy=a+b%26c%3Dd%2F%C3%A9") {
			t.Errorf("Next leaves the filter: %s", next)
		}
		p2 := h.get(c, next)
		got = append(got, listed(p2)...)
		mustContain(t, p2, "Items created by", ">Previous<")
		mustNotContain(t, p2, ">Next<")
		if !slices.Equal(got, want) {
			t.Errorf("listed %v\nwant %v", got, want)
		}
		back := h.get(c, link(t, p2, "prev"))
		if back.url.String() != h.url+first || !slices.Equal(listed(back), listed(p)) {
			t.Errorf("Previous went to %s, listing %v", back.url, listed(back))
		}
		for _, q := range h.users.takeQueries() {
			if q.CreatedBy != sub || q.Limit != 25 {
				t.Errorf("API asked %+v", q)
			}
		}
	})

	t.Run("the unfiltered trail is its own", func(t *testing.T) {
		p := h.get(c, "/admin/users")
		mustContain(t, p, "<h1>Users</h1>", "item-01")
		p2 := h.get(c, link(t, p, "next"))
		if prev := link(t, p2, "prev"); prev != "/admin/users" {
			t.Errorf("Previous of the second unfiltered page: %s", prev)
		}
		// A cursor of the unfiltered listing is refused by the filtered one.
		next, _ := url.Parse(link(t, p, "next"))
		mixed := h.get(c, first+"&cursor="+url.QueryEscape(next.Query().Get("cursor")))
		if mixed.status != http.StatusBadRequest {
			t.Errorf("mixed cursor: %d", mixed.status)
		}
		mustContain(t, mixed, "not a cursor this API issued for this listing")
	})

	t.Run("empty pages are skipped", func(t *testing.T) {
		// The API evaluates 10 items a call; the rare creator's items are
		// the last ones, past four empty pages.
		h.users.mu.Lock()
		h.users.scan = 10
		for _, id := range []string{"item-45", "item-77"} {
			h.users.items[id]["CreatedBy"] = "rare"
		}
		h.users.mu.Unlock()
		defer func() { h.users.mu.Lock(); h.users.scan = 0; h.users.mu.Unlock() }()
		h.users.takeQueries()
		p := h.get(c, "/admin/users?createdBy=rare")
		if got := listed(p); !slices.Equal(got, []string{"item-45"}) {
			t.Errorf("first page lists %v", got)
		}
		if n := len(h.users.takeQueries()); n != 5 {
			t.Errorf("%d API calls for the first page, want 5", n)
		}
		p2 := h.get(c, link(t, p, "next"))
		for p2.status == 200 && strings.Contains(p2.body, `rel="next"`) && len(listed(p2)) == 0 {
			mustContain(t, p2, "No items on this page; there may be more on the next.")
			p2 = h.get(c, link(t, p2, "next"))
		}
		if got := listed(p2); !slices.Equal(got, []string{"item-77"}) {
			t.Errorf("second page lists %v", got)
		}
		// Previous leads back to the first page, not to a skipped one.
		if prev := link(t, p2, "prev"); !strings.Contains(prev, "createdBy=rare") {
			t.Errorf("Previous: %s", prev)
		}
	})

	t.Run("an account without items", func(t *testing.T) {
		p := h.get(c, "/admin/users?createdBy=nobody")
		mustContain(t, p, "Items created by", "This account has created no items.")
		mustNotContain(t, p, "Create user</a></p>", ">Next<")
	})

	t.Run("bad creators", func(t *testing.T) {
		h.users.takeQueries()
		for q, msg := range map[string]string{
			"createdBy=":                            "must not be empty",
			"createdBy=a%00b":                       "must not contain control characters",
			"createdBy=a%0Ab":                       "must not contain control characters",
			"createdBy=%FF":                         "is not valid UTF-8",
			"createdBy=" + strings.Repeat("s", 257): "is 257 bytes long",
		} {
			p := h.get(c, "/admin/users?"+q)
			if p.status != http.StatusBadRequest {
				t.Errorf("%s: status %d", q, p.status)
			}
			mustContain(t, p, "Not an account&#39;s items", msg)
		}
		if n := len(h.users.takeQueries()); n != 0 {
			t.Errorf("%d API calls for bad creators", n)
		}
	})

	t.Run("refused to non-admins", func(t *testing.T) {
		p := h.get(h.signIn(ada), first)
		if p.status != http.StatusForbidden {
			t.Errorf("status %d", p.status)
		}
		mustNotContain(t, p, "item-00")
	})
}

func TestAPIFailures(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)
	tests := []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"down", &client.Error{Status: 0, Message: "The user service is not reachable"}, 503, "The user service is not answering"},
		{"throttled", &client.Error{Status: 503, Message: "Service Unavailable"}, 503, "try again in a moment"},
		{"token refused", &client.Error{Status: 401, Message: "Unauthorized"}, 401, "did not accept your sign-in"},
		{"internal", &client.Error{Status: 500, Message: "Internal Server Error"}, 500, "quote the request id"},
		{"broken", errors.New("decode: unexpected EOF"), 500, "quote the request id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.users.setFail(tt.err)
			defer h.users.setFail(nil)
			for _, path := range []string{"/user?UserId=ada"} {
				p := h.get(c, path)
				if p.status != tt.status {
					t.Errorf("%s: status %d, want %d", path, p.status, tt.status)
				}
				mustContain(t, p, tt.want, "request id", p.header.Get("X-Request-Id"))
				mustNotContain(t, p, "unexpected EOF")
			}
			p := h.post(c, "/user/new", url.Values{"UserId": {"x"}})
			if p.status != tt.status {
				t.Errorf("create: status %d, want %d", p.status, tt.status)
			}
		})
	}
}

func TestErrorPages(t *testing.T) {
	h := newHarness(t)
	c := h.browser()
	p := h.get(c, "/no/such/page")
	if p.status != 404 {
		t.Errorf("status %d", p.status)
	}
	mustContain(t, p, "Page not found", "request id "+`<span class="mono">`+p.header.Get("X-Request-Id"))
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	p := h.get(h.browser(), "/")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' " + h.prov.srv.URL + "; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		if got := p.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	// No inline script or style anywhere.
	for _, bad := range []string{"<script", "style=", "<style"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"}, // another port of the same host
		{"Origin": "http://localhost:9999"},
	} {
		req, _ := http.NewRequest("POST", h.url+"/user/new", strings.NewReader("UserId=evil"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		p := h.do(c, req)
		if p.status != http.StatusForbidden {
			t.Errorf("%v: status %d", hdr, p.status)
		}
		mustContain(t, p, "sent from another site")
	}
	if _, ok := h.users.items["evil"]; ok {
		t.Error("a cross-origin post created a user")
	}
	// Sign-out is a form too.
	req, _ := http.NewRequest("POST", h.url+"/auth/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := h.do(c, req); p.status != http.StatusForbidden {
		t.Errorf("cross-site sign-out: %d", p.status)
	}
}

func TestCanonicalHost(t *testing.T) {
	h := newHarness(t)
	req, _ := http.NewRequest("GET", h.url+"/user?UserId=a", nil)
	req.Host = "localhost.example:1234"
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	p := h.do(c, req)
	if p.status != http.StatusFound || p.header.Get("Location") != h.url+"/user?UserId=a" {
		t.Errorf("got %d to %q", p.status, p.header.Get("Location"))
	}
}

func TestStatic(t *testing.T) {
	h := newHarness(t)
	p := h.get(h.browser(), "/")
	i := strings.Index(p.body, `rel="stylesheet" href="`)
	css := p.body[i+len(`rel="stylesheet" href="`):]
	css = css[:strings.Index(css, `"`)]
	s := h.get(h.browser(), css)
	if s.status != 200 || !strings.HasPrefix(s.header.Get("Content-Type"), "text/css") || !strings.Contains(s.header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s: %d %v", css, s.status, s.header)
	}
}

// BenchmarkLookupHandler is a whole Look up request through the portal
// (session, token freshness, page) with an API that answers at once: the
// portal's own cost per page.
func BenchmarkLookupHandler(b *testing.B) {
	h := newHarness(b)
	h.prov.setUser(ada)
	c := h.browser()
	if p := h.get(c, "/auth/login"); p.status != 200 {
		b.Fatalf("sign in: %d", p.status)
	}
	h.users.items["ada"] = api.Item{"UserId": "ada", "Name": "Ada", "Age": json.Number("36"), "Tags": []any{"x", "y"}, "Address": map[string]any{"City": "London"}}
	u, _ := url.Parse(h.url)
	req := httptest.NewRequest("GET", h.url+"/user?UserId=ada", nil)
	for _, ck := range c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	handler := h.srv.Config.Handler
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// TestLookupKeepsSpaces: ids may have spaces at either end, and the Users
// page links to them exactly, so Look up must not trim them.
func TestLookupKeepsSpaces(t *testing.T) {
	h := newHarness(t)
	c := h.signIn(ada)
	h.users.items[" padded "] = api.Item{"UserId": " padded ", "Found": "yes"}
	p := h.get(c, "/user?"+url.Values{"UserId": {" padded "}}.Encode())
	if p.status != 200 {
		t.Fatalf("status %d", p.status)
	}
	mustContain(t, p, "Found")
}
