package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/net/html"

	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/accounts/accountstest"
	"github.com/usersvc/usersvc/web/portal/admin"
	"github.com/usersvc/usersvc/web/portal/pages"
)

const poolID = "eu-west-1_Test"

// fakePortal stands in for the portal: the cookie "who" names the
// signed-in viewer, and flash messages are kept for one browser.
type fakePortal struct {
	mu      sync.Mutex
	viewers map[string]admin.Viewer
	flash   string
}

func (f *fakePortal) Visit(w http.ResponseWriter, r *http.Request) (admin.Visit, bool) {
	c, err := r.Cookie("who")
	f.mu.Lock()
	v, ok := f.viewers[cookieValue(c, err)]
	f.mu.Unlock()
	if !ok {
		http.Redirect(w, r, "/auth/login", http.StatusSeeOther)
		return nil, false
	}
	return &fakeVisit{f, v}, true
}

func cookieValue(c *http.Cookie, err error) string {
	if err != nil {
		return ""
	}
	return c.Value
}

func (f *fakePortal) RequestID(context.Context) string { return "portal-req-1" }

func (f *fakePortal) takeFlash() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.flash
	f.flash = ""
	return m
}

type fakeVisit struct {
	p *fakePortal
	v admin.Viewer
}

func (v *fakeVisit) Viewer() admin.Viewer { return v.v }

func (v *fakeVisit) Layout(title string) pages.Layout {
	return pages.Layout{Title: title, CSS: "/static/portal.css", Logo: "/static/logo.svg", Flash: v.p.takeFlash(),
		User: &pages.User{Username: v.v.Username, Admin: slices.Contains(v.v.Groups, "admins")}}
}

func (v *fakeVisit) Flash(msg string) {
	v.p.mu.Lock()
	defer v.p.mu.Unlock()
	v.p.flash = msg
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the log records with the message msg.
func (s *syncBuffer) lines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// env is the screens over a stub pool with three people: an admin (ada),
// another admin (bea) and a plain user (carl).
type env struct {
	h      http.Handler
	pool   *accountstest.Pool
	portal *fakePortal
	log    *syncBuffer
	ada    accountstest.User
	bea    accountstest.User
	carl   accountstest.User
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{pool: accountstest.NewPool(poolID), log: &syncBuffer{}}
	get := func(name string) accountstest.User { u, _ := e.pool.User(name); return u }
	e.ada = get(e.pool.Add(accountstest.User{Email: "ada@example.com", Enabled: true, Groups: []string{"admins"}}))
	e.bea = get(e.pool.Add(accountstest.User{Email: "bea@example.com", Enabled: true, Groups: []string{"admins"}}))
	e.carl = get(e.pool.Add(accountstest.User{Email: "carl@example.com", Enabled: true}))
	e.portal = &fakePortal{viewers: map[string]admin.Viewer{
		"ada":  {Subject: e.ada.Sub, Username: e.ada.Username, Groups: []string{"admins"}},
		"bea":  {Subject: e.bea.Sub, Username: e.bea.Username, Groups: []string{"admins"}},
		"carl": {Subject: e.carl.Sub, Username: e.carl.Username},
	}}
	e.h = admin.New(admin.Config{
		Accounts: accounts.New(e.pool, poolID),
		Portal:   e.portal,
		Log:      slog.New(slog.NewJSONHandler(e.log, nil)),
		ItemsURL: func(sub string) string { return "/admin/users?createdBy=" + url.QueryEscape(sub) },
	})
	return e
}

type response struct {
	status int
	header http.Header
	body   string
	doc    *html.Node
}

func (e *env) do(t testing.TB, who, method, target string, form url.Values, hdr ...string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	if who != "" {
		r.AddCookie(&http.Cookie{Name: "who", Value: who})
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	res := response{status: w.Code, header: w.Header(), body: w.Body.String()}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		doc, err := html.Parse(strings.NewReader(res.body))
		if err != nil {
			t.Fatal(err)
		}
		res.doc = doc
	}
	return res
}

func (e *env) get(t testing.TB, who, target string) response {
	t.Helper()
	return e.do(t, who, http.MethodGet, target, nil)
}

func (e *env) post(t testing.TB, who, target string, form url.Values) response {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return e.do(t, who, http.MethodPost, target, form)
}

func (e *env) user(t *testing.T, u accountstest.User) accountstest.User {
	t.Helper()
	got, ok := e.pool.User(u.Username)
	if !ok {
		t.Fatalf("account %s is gone", u.Email)
	}
	return got
}

// form is an HTML form as a browser would submit it.
type form struct {
	method, action string
	hidden         url.Values
	buttons        []string
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func (r response) forms() []form {
	var out []form
	for _, f := range find(r.doc, func(n *html.Node) bool { return n.Data == "form" }) {
		fm := form{method: attr(f, "method"), action: attr(f, "action"), hidden: url.Values{}}
		for _, in := range find(f, func(n *html.Node) bool { return n.Data == "input" && attr(n, "type") == "hidden" }) {
			fm.hidden.Add(attr(in, "name"), attr(in, "value"))
		}
		for _, b := range find(f, func(n *html.Node) bool { return n.Data == "button" }) {
			fm.buttons = append(fm.buttons, text(b))
		}
		out = append(out, fm)
	}
	return out
}

// formWith returns the form holding the button labelled button.
func (r response) formWith(t testing.TB, button string) form {
	t.Helper()
	for _, f := range r.forms() {
		if slices.Contains(f.buttons, button) {
			return f
		}
	}
	t.Fatalf("no form with a %q button in:\n%s", button, r.body)
	return form{}
}

func (r response) buttons() []string {
	var out []string
	for _, f := range r.forms() {
		out = append(out, f.buttons...)
	}
	return out
}

// label returns the control the label with text name is for.
func (r response) label(t *testing.T, name string) *html.Node {
	t.Helper()
	for _, l := range find(r.doc, func(n *html.Node) bool { return n.Data == "label" }) {
		if text(l) != name {
			continue
		}
		if id := attr(l, "for"); id != "" {
			if c := find(r.doc, func(n *html.Node) bool { return attr(n, "id") == id }); len(c) == 1 {
				return c[0]
			}
		}
		if c := find(l, func(n *html.Node) bool { return n.Data == "input" }); len(c) == 1 {
			return c[0]
		}
	}
	t.Fatalf("no control labelled %q in:\n%s", name, r.body)
	return nil
}

func (r response) flash() string {
	for _, n := range find(r.doc, func(n *html.Node) bool { return attr(n, "class") == "flash" }) {
		return text(n)
	}
	return ""
}

func (r response) links() map[string]string {
	out := map[string]string{}
	for _, a := range find(r.doc, func(n *html.Node) bool { return n.Data == "a" }) {
		out[text(a)] = attr(a, "href")
	}
	return out
}

func mustStatus(t testing.TB, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, want, r.body)
	}
}

func TestSignedOutGoesToSignIn(t *testing.T) {
	e := newEnv(t)
	for _, target := range []string{"/admin/accounts", "/admin/accounts/invite", "/admin/accounts/user/" + e.carl.Username} {
		r := e.get(t, "", target)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/login" {
			t.Errorf("GET %s signed out: %d %s", target, r.status, r.header.Get("Location"))
		}
	}
	if len(e.pool.Calls) != 0 {
		t.Errorf("Cognito called for a signed-out visitor: %v", e.pool.Calls)
	}
}

func TestNonAdminGets403(t *testing.T) {
	e := newEnv(t)
	account := "/admin/accounts/user/" + e.ada.Username
	tests := []struct {
		method, target string
		form           url.Values
	}{
		{"GET", "/admin/accounts", nil},
		{"GET", "/admin/accounts?email=a", nil},
		{"GET", "/admin/accounts/find?id=" + e.ada.Sub, nil},
		{"GET", "/admin/accounts/invite", nil},
		{"POST", "/admin/accounts/invite", url.Values{"email": {"x@example.com"}, "admin": {"yes"}}},
		{"GET", account, nil},
		{"POST", account + "/disable", url.Values{}},
		{"POST", account + "/disable", url.Values{"confirm": {"yes"}}},
		{"POST", account + "/revoke", url.Values{"confirm": {"yes"}}},
		{"POST", "/admin/accounts/user/" + e.carl.Username + "/grant", url.Values{"confirm": {"yes"}}},
		{"POST", account + "/reset-password", url.Values{"confirm": {"yes"}}},
		{"POST", account + "/sign-out", url.Values{"confirm": {"yes"}}},
		{"GET", "/admin/accounts/nothing-here", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := e.do(t, "carl", tt.method, tt.target, tt.form)
			mustStatus(t, r, http.StatusForbidden)
			if !strings.Contains(r.body, "for administrators") {
				t.Errorf("403 page does not say why:\n%s", r.body)
			}
		})
	}
	if len(e.pool.Calls) != 0 {
		t.Errorf("Cognito called for a non-admin: %v", e.pool.Calls)
	}
	if u := e.user(t, e.carl); len(u.Groups) != 0 {
		t.Errorf("carl's groups: %v", u.Groups)
	}
	if lines := e.log.lines(t, "account audit"); len(lines) != 7 {
		t.Errorf("%d audit lines for 7 refused posts", len(lines))
	} else if lines[0]["who"] != e.carl.Sub || lines[0]["result"] != "refused: not in admins" {
		t.Errorf("audit line %v", lines[0])
	}
}

func TestSearchPage(t *testing.T) {
	e := newEnv(t)
	e.pool.Add(accountstest.User{Email: `o"brien@example.com`, Status: types.UserStatusTypeUnconfirmed})
	r := e.get(t, "ada", "/admin/accounts")
	mustStatus(t, r, http.StatusOK)
	if r.header.Get("Cache-Control") != "no-store" {
		t.Error("no Cache-Control: no-store")
	}
	if in := r.label(t, "Email"); attr(in, "name") != "email" {
		t.Errorf("Email field named %q", attr(in, "name"))
	}
	search := r.formWith(t, "Search")
	if search.method != "get" || search.action != "/admin/accounts" {
		t.Errorf("search form %+v", search)
	}
	nav := find(r.doc, func(n *html.Node) bool { return n.Data == "a" && text(n) == "Accounts" })
	if len(nav) != 1 || attr(nav[0], "href") != "/admin/accounts" || attr(nav[0], "aria-current") != "page" {
		t.Errorf("no current Accounts entry in the navigation:\n%s", r.body)
	}
	if r.links()["Invite user"] != "/admin/accounts/invite" {
		t.Errorf("links %v", r.links())
	}
	for _, want := range []string{"ada@example.com", "bea@example.com", "carl@example.com", "o&#34;brien@example.com", "UNCONFIRMED", "CONFIRMED", "disabled", "enabled", "2026-01-01 00:01 UTC"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("Accounts page lacks %q", want)
		}
	}

	r = e.get(t, "ada", "/admin/accounts?email="+url.QueryEscape(" o\"b"))
	mustStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "o&#34;brien@example.com") || strings.Contains(r.body, "ada@example.com</a>") {
		t.Errorf("search for o\"b:\n%s", r.body)
	}
	if attr(r.label(t, "Email"), "value") != ` o"b` {
		t.Error("the search text is not kept in the field")
	}

	for _, q := range []string{`x" or email ^= "`, "a\nb", `\`} {
		r = e.get(t, "ada", "/admin/accounts?email="+url.QueryEscape(q))
		mustStatus(t, r, http.StatusOK)
		if !strings.Contains(r.body, "email starts with <strong") {
			t.Errorf("search %q found something:\n%s", q, r.body)
		}
	}
	r = e.get(t, "ada", "/admin/accounts?email="+strings.Repeat("a", 201))
	mustStatus(t, r, http.StatusBadRequest)
}

func TestSearchPagination(t *testing.T) {
	e := newEnv(t)
	for range 120 {
		e.pool.Add(accountstest.User{Email: "", Enabled: true})
	}
	// 123 accounts: pages of 50, 50, 23.
	r := e.get(t, "ada", "/admin/accounts")
	var seen []string
	count := func(r response) int {
		return len(find(r.doc, func(n *html.Node) bool { return n.Data == "tr" })) - 1
	}
	var pageURLs []string
	for i := 0; ; i++ {
		mustStatus(t, r, http.StatusOK)
		seen = append(seen, r.body)
		links := r.links()
		if i == 0 && links["Previous"] != "" {
			t.Error("Previous on the first page")
		}
		if i > 0 && links["Previous"] == "" {
			t.Errorf("no Previous on page %d", i+1)
		}
		next := links["Next"]
		if next == "" {
			break
		}
		pageURLs = append(pageURLs, next)
		r = e.get(t, "ada", next)
		if i > 5 {
			t.Fatal("no end to the pages")
		}
	}
	if len(seen) != 3 {
		t.Fatalf("%d pages, want 3", len(seen))
	}
	// Back from the third page to the second, then to the first.
	r = e.get(t, "ada", pageURLs[1])
	if count(r) != 23 {
		t.Errorf("third page has %d rows", count(r))
	}
	r = e.get(t, "ada", r.links()["Previous"])
	if count(r) != 50 || r.body != seen[1] {
		t.Error("Previous from the third page is not the second")
	}
	r = e.get(t, "ada", r.links()["Previous"])
	if r.body != seen[0] {
		t.Error("Previous from the second page is not the first")
	}

	// An altered token starts again at the first page.
	r = e.get(t, "ada", "/admin/accounts?page=forged")
	mustStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "That page is no longer available") || count(r) != 50 {
		t.Errorf("forged token:\n%s", r.body)
	}
}

func TestFind(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{e.carl.Username, e.carl.Sub, " " + e.carl.Sub + " "} {
		r := e.get(t, "ada", admin.FindURL(id))
		if r.status != http.StatusSeeOther || r.header.Get("Location") != admin.AccountURL(e.carl.Username) {
			t.Errorf("find %q: %d %s", id, r.status, r.header.Get("Location"))
		}
	}
	r := e.get(t, "ada", admin.FindURL("nobody"))
	mustStatus(t, r, http.StatusNotFound)
	if !strings.Contains(r.body, "No account has the username or sub nobody.") {
		t.Errorf("not found page:\n%s", r.body)
	}
	mustStatus(t, e.get(t, "ada", admin.FindURL("")), http.StatusBadRequest)
}

func TestAccountPage(t *testing.T) {
	e := newEnv(t)
	r := e.get(t, "ada", admin.AccountURL(e.carl.Username))
	mustStatus(t, r, http.StatusOK)
	for _, want := range []string{"carl@example.com", "CONFIRMED", "enabled", e.carl.Sub, "2026-01-01 00:03 UTC", "email_verified"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if got, want := r.buttons(), []string{"Sign out", "Disable", "Add to admins", "Reset password", "Sign out everywhere"}; !slices.Equal(got[len(got)-4:], want[1:]) {
		t.Errorf("buttons %q", got)
	}
	for _, f := range r.forms() {
		if f.method != "post" && !slices.Contains(f.buttons, "Search") {
			t.Errorf("action form %+v is not a POST", f)
		}
	}
	if got := r.links()["Items this account created"]; got != "/admin/users?createdBy="+url.QueryEscape(e.carl.Sub) {
		t.Errorf("items link %q", got)
	}

	// Another admin's page offers Remove from admins; a disabled account Enable.
	e.pool.AdminDisableUser(context.Background(), disableInput(e.bea.Username))
	r = e.get(t, "ada", admin.AccountURL(e.bea.Username))
	if b := r.buttons(); !slices.Contains(b, "Remove from admins") || !slices.Contains(b, "Enable") || slices.Contains(b, "Disable") || slices.Contains(b, "Add to admins") {
		t.Errorf("bea's buttons %q", b)
	}

	// One's own page offers neither Disable nor Remove from admins.
	r = e.get(t, "ada", admin.AccountURL(e.ada.Username))
	if b := r.buttons(); slices.Contains(b, "Disable") || slices.Contains(b, "Remove from admins") || !slices.Contains(b, "Sign out everywhere") {
		t.Errorf("own buttons %q", b)
	}
	if !strings.Contains(r.body, "This is your own account.") {
		t.Error("own page does not say so")
	}

	mustStatus(t, e.get(t, "ada", admin.AccountURL("nobody")), http.StatusNotFound)
}

// TestActions takes each action through its confirmation to its effect.
func TestActions(t *testing.T) {
	tests := []struct {
		button, name string
		prepare      func(*env)
		flash        string
		check        func(accountstest.User) bool
	}{
		{"Disable", "disable", nil, "Disabled carl@example.com.", func(u accountstest.User) bool { return !u.Enabled }},
		{"Enable", "enable", func(e *env) { e.pool.AdminDisableUser(context.Background(), disableInput(e.carl.Username)) }, "Enabled carl@example.com.", func(u accountstest.User) bool { return u.Enabled }},
		{"Add to admins", "grant", nil, "Added carl@example.com to admins.", func(u accountstest.User) bool { return slices.Equal(u.Groups, []string{"admins"}) }},
		{"Remove from admins", "revoke", func(e *env) { e.pool.AdminAddUserToGroup(context.Background(), addInput(e.carl.Username)) }, "Removed carl@example.com from admins.", func(u accountstest.User) bool { return len(u.Groups) == 0 }},
		{"Reset password", "reset-password", nil, "Reset the password of carl@example.com; Cognito mailed them a code.", func(u accountstest.User) bool { return u.Status == types.UserStatusTypeResetRequired }},
		{"Sign out everywhere", "sign-out", nil, "Signed carl@example.com out everywhere.", func(u accountstest.User) bool { return u.SignedOut == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.button, func(t *testing.T) {
			e := newEnv(t)
			if tt.prepare != nil {
				tt.prepare(e)
			}
			before := e.user(t, e.carl)
			page := e.get(t, "ada", admin.AccountURL(e.carl.Username))
			f := page.formWith(t, tt.button)
			if f.method != "post" || f.action != admin.AccountURL(e.carl.Username)+"/"+tt.name {
				t.Fatalf("%s form %+v", tt.button, f)
			}

			// The button asks first, and changes nothing.
			r := e.post(t, "ada", f.action, f.hidden)
			mustStatus(t, r, http.StatusOK)
			if !slices.Equal(r.buttons(), []string{"Sign out", "Confirm"}) {
				t.Errorf("confirmation buttons %q", r.buttons())
			}
			if r.links()["Cancel"] != admin.AccountURL(e.carl.Username) {
				t.Errorf("no Cancel back to the account: %v", r.links())
			}
			if after := e.user(t, e.carl); !equalUser(before, after) {
				t.Fatalf("changed before Confirm: %+v", after)
			}
			if n := len(e.log.lines(t, "account audit")); n != 0 {
				t.Errorf("%d audit lines before Confirm", n)
			}

			confirm := r.formWith(t, "Confirm")
			if confirm.method != "post" || confirm.action != f.action || confirm.hidden.Get("confirm") != "yes" {
				t.Fatalf("Confirm form %+v", confirm)
			}
			r = e.post(t, "ada", confirm.action, confirm.hidden)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != admin.AccountURL(e.carl.Username) {
				t.Fatalf("Confirm: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
			}
			if after := e.user(t, e.carl); !tt.check(after) {
				t.Errorf("after %s: %+v", tt.button, after)
			}
			page = e.get(t, "ada", r.header.Get("Location"))
			if page.flash() != tt.flash {
				t.Errorf("flash %q, want %q", page.flash(), tt.flash)
			}
			lines := e.log.lines(t, "account audit")
			if len(lines) != 1 {
				t.Fatalf("%d audit lines, want 1", len(lines))
			}
			l := lines[0]
			if l["who"] != e.ada.Sub || l["what"] != tt.name || l["whom"] != e.carl.Sub || l["result"] != "ok" || l["request_id"] != "portal-req-1" || l["level"] != "INFO" {
				t.Errorf("audit line %v", l)
			}
		})
	}
}

// TestGrantWarnsOfAnUnverifiedAddress: an address nobody verified may have
// been typed by anyone, so making its account an admin says so before the
// Confirm; a verified one does not.
func TestGrantWarnsOfAnUnverifiedAddress(t *testing.T) {
	const warning = "This account has not verified its email address"
	e := newEnv(t)
	typed := e.pool.Add(accountstest.User{Email: "typed@example.com", Enabled: true, Unverified: true})
	for _, tc := range []struct {
		username string
		warned   bool
	}{{typed, true}, {e.carl.Username, false}} {
		r := e.post(t, "ada", admin.AccountURL(tc.username)+"/grant", url.Values{})
		mustStatus(t, r, http.StatusOK)
		if got := strings.Contains(r.body, warning); got != tc.warned {
			t.Errorf("confirmation for %s: warned %v, want %v", tc.username, got, tc.warned)
		}
	}
}

func equalUser(a, b accountstest.User) bool {
	return a.Enabled == b.Enabled && a.Status == b.Status && slices.Equal(a.Groups, b.Groups) && a.SignedOut == b.SignedOut
}

func TestSelfRefusals(t *testing.T) {
	for _, act := range []string{"disable", "revoke"} {
		for _, confirm := range []bool{false, true} {
			t.Run(act+map[bool]string{false: "", true: " confirmed"}[confirm], func(t *testing.T) {
				e := newEnv(t)
				form := url.Values{}
				if confirm {
					form.Set("confirm", "yes")
				}
				r := e.post(t, "ada", admin.AccountURL(e.ada.Username)+"/"+act, form)
				mustStatus(t, r, http.StatusForbidden)
				if !strings.Contains(r.body, "You cannot") {
					t.Errorf("refusal page:\n%s", r.body)
				}
				if u := e.user(t, e.ada); !u.Enabled || !slices.Contains(u.Groups, "admins") {
					t.Errorf("ada changed: %+v", u)
				}
				lines := e.log.lines(t, "account audit")
				if confirm && (len(lines) != 1 || lines[0]["result"] != "refused: own account" || lines[0]["whom"] != e.ada.Sub) {
					t.Errorf("audit %v", lines)
				}
			})
		}
	}
	// Other actions on oneself are allowed.
	e := newEnv(t)
	r := e.post(t, "ada", admin.AccountURL(e.ada.Username)+"/sign-out", url.Values{"confirm": {"yes"}})
	mustStatus(t, r, http.StatusSeeOther)
}

func TestNoLongerAdminInCognito(t *testing.T) {
	e := newEnv(t)
	// Bea's token still says admins; Cognito no longer does.
	e.pool.AdminRemoveUserFromGroup(context.Background(), removeInput(e.bea.Username))
	r := e.post(t, "bea", admin.AccountURL(e.carl.Username)+"/disable", url.Values{"confirm": {"yes"}})
	mustStatus(t, r, http.StatusForbidden)
	if !e.user(t, e.carl).Enabled {
		t.Error("carl disabled by a former admin")
	}
	r = e.post(t, "bea", "/admin/accounts/invite", url.Values{"email": {"x@example.com"}})
	mustStatus(t, r, http.StatusForbidden)
	if e.pool.Calls["AdminCreateUser"] != 0 {
		t.Error("invited by a former admin")
	}
	lines := e.log.lines(t, "account audit")
	if len(lines) != 2 || lines[0]["result"] != "refused: no longer in admins" || lines[0]["who"] != e.bea.Sub {
		t.Errorf("audit %v", lines)
	}
}

func TestDeletedBetweenListAndAct(t *testing.T) {
	e := newEnv(t)
	page := e.get(t, "ada", admin.AccountURL(e.carl.Username))
	f := page.formWith(t, "Disable")
	e.pool.Delete(e.carl.Username)
	for _, form := range []url.Values{{}, {"confirm": {"yes"}}} {
		r := e.post(t, "ada", f.action, form)
		mustStatus(t, r, http.StatusNotFound)
		if !strings.Contains(r.body, "Account not found") {
			t.Errorf("page:\n%s", r.body)
		}
	}

	// Deleted after the page read it, just before the change.
	e = newEnv(t)
	e.pool.Fail = func(op, username string) error {
		if op == "AdminDisableUser" {
			return accountstest.NotFound(op, "cog-req-7")
		}
		return nil
	}
	r := e.post(t, "ada", admin.AccountURL(e.carl.Username)+"/disable", url.Values{"confirm": {"yes"}})
	mustStatus(t, r, http.StatusNotFound)
	lines := e.log.lines(t, "account audit")
	if len(lines) != 1 || lines[0]["result"] != "not found" || lines[0]["cognito_request_id"] != "cog-req-7" {
		t.Errorf("audit %v", lines)
	}
}

func TestCognitoThrottledOrDown(t *testing.T) {
	e := newEnv(t)
	e.pool.Fail = func(op, _ string) error { return accountstest.Throttled(op, "cog-req-42") }
	for _, r := range []response{
		e.get(t, "ada", "/admin/accounts?email=a"),
		e.get(t, "ada", admin.AccountURL(e.carl.Username)),
		e.post(t, "ada", admin.AccountURL(e.carl.Username)+"/disable", url.Values{"confirm": {"yes"}}),
		e.post(t, "ada", "/admin/accounts/invite", url.Values{"email": {"new@example.com"}}),
	} {
		mustStatus(t, r, http.StatusServiceUnavailable)
		if r.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		for _, want := range []string{"Nothing was changed", "cog-req-42", "portal-req-1"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("503 page lacks %q:\n%s", want, r.body)
			}
		}
		if strings.Contains(r.body, "TooManyRequests") || strings.Contains(r.body, "Rate exceeded") {
			t.Errorf("503 page leaks the SDK's error:\n%s", r.body)
		}
	}
	e.pool.Fail = nil
	if !e.user(t, e.carl).Enabled || len(e.pool.Mail) != 0 {
		t.Error("something changed while Cognito was throttling")
	}
}

func TestCrossOriginAndMethods(t *testing.T) {
	e := newEnv(t)
	target := admin.AccountURL(e.carl.Username) + "/disable"
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://localhost:9999"},
	} {
		r := e.do(t, "ada", http.MethodPost, target, url.Values{"confirm": {"yes"}}, hdr...)
		mustStatus(t, r, http.StatusForbidden)
		r = e.do(t, "ada", http.MethodPost, "/admin/accounts/invite", url.Values{"email": {"x@example.com"}}, hdr...)
		mustStatus(t, r, http.StatusForbidden)
	}
	if !e.user(t, e.carl).Enabled || e.pool.Calls["AdminCreateUser"] != 0 {
		t.Error("a cross-origin post changed something")
	}
	// Same-origin browser posts pass.
	r := e.do(t, "ada", http.MethodPost, target, url.Values{}, "Sec-Fetch-Site", "same-origin")
	mustStatus(t, r, http.StatusOK)

	// Actions are POST only: a link or an image cannot trigger one.
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		r := e.do(t, "ada", m, target+"?confirm=yes", nil)
		if r.status != http.StatusMethodNotAllowed && r.status != http.StatusNotFound {
			t.Errorf("%s %s: %d", m, target, r.status)
		}
	}
	if !e.user(t, e.carl).Enabled {
		t.Error("disabled by a GET")
	}
	mustStatus(t, e.post(t, "ada", admin.AccountURL(e.carl.Username)+"/delete", url.Values{"confirm": {"yes"}}), http.StatusNotFound)

	big := url.Values{"confirm": {"yes"}, "pad": {strings.Repeat("x", 32<<10)}}
	mustStatus(t, e.post(t, "ada", target, big), http.StatusBadRequest)
	if !e.user(t, e.carl).Enabled {
		t.Error("disabled by an oversized form")
	}
}

func TestInvite(t *testing.T) {
	e := newEnv(t)
	r := e.get(t, "ada", "/admin/accounts/invite")
	mustStatus(t, r, http.StatusOK)
	if in := r.label(t, "Email"); attr(in, "name") != "email" {
		t.Errorf("Email field %v", in.Attr)
	}
	if in := r.label(t, "Admin"); attr(in, "type") != "checkbox" || attr(in, "name") != "admin" {
		t.Errorf("Admin checkbox %v", in.Attr)
	}
	f := r.formWith(t, "Invite user")
	if f.method != "post" || f.action != "/admin/accounts/invite" {
		t.Fatalf("invite form %+v", f)
	}

	for _, tt := range []struct {
		email string
		admin bool
	}{{"new@example.com", false}, {"boss@example.com", true}} {
		form := url.Values{"email": {tt.email}}
		if tt.admin {
			form.Set("admin", "yes")
		}
		r = e.post(t, "ada", f.action, form)
		mustStatus(t, r, http.StatusSeeOther)
		a, err := accounts.New(e.pool, poolID).Find(context.Background(), tt.email)
		if err != nil {
			t.Fatal(err)
		}
		if r.header.Get("Location") != admin.AccountURL(a.Username) {
			t.Errorf("redirect to %s", r.header.Get("Location"))
		}
		u := e.user(t, accountstest.User{Username: a.Username})
		if u.Status != types.UserStatusTypeForceChangePassword || slices.Contains(u.Groups, "admins") != tt.admin {
			t.Errorf("invited %+v", u)
		}
		page := e.get(t, "ada", r.header.Get("Location"))
		if !strings.HasPrefix(page.flash(), "Invited "+tt.email) {
			t.Errorf("flash %q", page.flash())
		}
	}
	if !slices.Equal(e.pool.Mail, []string{"invite new@example.com", "invite boss@example.com"}) {
		t.Errorf("mail %q", e.pool.Mail)
	}
	lines := e.log.lines(t, "account audit")
	if len(lines) != 2 || lines[0]["what"] != "invite" || lines[1]["what"] != "invite admin" || lines[1]["result"] != "ok" || lines[1]["whom"] == "" {
		t.Errorf("audit %v", lines)
	}

	r = e.post(t, "ada", f.action, url.Values{"email": {"carl@example.com"}})
	mustStatus(t, r, http.StatusConflict)
	if !strings.Contains(r.body, "exists already") || attr(r.label(t, "Email"), "value") != "carl@example.com" {
		t.Errorf("existing email:\n%s", r.body)
	}
	r = e.post(t, "ada", f.action, url.Values{"email": {"not an email"}, "admin": {"yes"}})
	mustStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.body, "That is not an email address.") || attr(r.label(t, "Admin"), "checked") == "" && !hasAttr(r.label(t, "Admin"), "checked") {
		t.Errorf("bad email:\n%s", r.body)
	}
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func TestInviteAdminPartlyFails(t *testing.T) {
	e := newEnv(t)
	e.pool.Fail = func(op, _ string) error {
		if op == "AdminAddUserToGroup" {
			return accountstest.Throttled(op, "cog-req-5")
		}
		return nil
	}
	r := e.post(t, "ada", "/admin/accounts/invite", url.Values{"email": {"new@example.com"}, "admin": {"yes"}})
	mustStatus(t, r, http.StatusSeeOther)
	page := e.get(t, "ada", r.header.Get("Location"))
	if !strings.Contains(page.flash(), "could not add them to admins") {
		t.Errorf("flash %q", page.flash())
	}
}

func TestUnknownErrorsDoNotLeak(t *testing.T) {
	e := newEnv(t)
	e.pool.Fail = func(op, _ string) error { return errors.New("secret internal detail") }
	r := e.get(t, "ada", admin.AccountURL(e.carl.Username))
	mustStatus(t, r, http.StatusInternalServerError)
	if strings.Contains(r.body, "secret internal detail") {
		t.Error("internal error shown")
	}
}

func disableInput(username string) *cip.AdminDisableUserInput {
	return &cip.AdminDisableUserInput{UserPoolId: aws.String(poolID), Username: aws.String(username)}
}

func addInput(username string) *cip.AdminAddUserToGroupInput {
	return &cip.AdminAddUserToGroupInput{UserPoolId: aws.String(poolID), Username: aws.String(username), GroupName: aws.String("admins")}
}

func removeInput(username string) *cip.AdminRemoveUserFromGroupInput {
	return &cip.AdminRemoveUserFromGroupInput{UserPoolId: aws.String(poolID), Username: aws.String(username), GroupName: aws.String("admins")}
}

// TestFindURLMatchesPages keeps the Look up page's link (package pages
// cannot import this one) in step with the route.
func TestFindURLMatchesPages(t *testing.T) {
	for _, sub := range []string{"0a1b-2c", "a&b=c d"} {
		if got, want := string(pages.AccountURL(sub)), admin.FindURL(sub); got != want {
			t.Errorf("pages.AccountURL(%q) = %s, admin.FindURL = %s", sub, got, want)
		}
	}
}

func TestRefusedByCognitoShownOnTheAccount(t *testing.T) {
	e := newEnv(t)
	invitee := e.pool.Add(accountstest.User{Email: "new@example.com", Enabled: true, Status: types.UserStatusTypeForceChangePassword})
	r := e.post(t, "ada", admin.AccountURL(invitee)+"/reset-password", url.Values{"confirm": {"yes"}})
	mustStatus(t, r, http.StatusConflict)
	if !strings.Contains(r.body, "Cognito refused: User password cannot be reset in the current state.") || !slices.Contains(r.buttons(), "Reset password") {
		t.Errorf("refusal page:\n%s", r.body)
	}
	lines := e.log.lines(t, "account audit")
	if len(lines) != 1 || lines[0]["result"] != "refused by cognito" || lines[0]["what"] != "reset-password" {
		t.Errorf("audit %v", lines)
	}
}
