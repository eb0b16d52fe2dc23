package portal_test

import (
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/idp"
	"github.com/usersvc/usersvc/web/idp/users"
	"github.com/usersvc/usersvc/web/portal"
	"github.com/usersvc/usersvc/web/portal/session"
)

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// TestWithLocalProvider runs the portal against the real local identity
// provider (web/idp), sharing one clock, so that drift between what the
// portal expects and what the provider does shows up here: sign-in through
// the Hosted UI form, claims, refresh an hour later, revocation and logout.
func TestWithLocalProvider(t *testing.T) {
	l := startLocal(t, false)
	clk, h, c, fake, sessions, idpURL, portalURL := l.clk, l.h, l.c, l.fake, l.sessions, l.idpURL, l.portalURL

	// An hour later the access token has expired: the portal refreshes it
	// with the provider before calling the API.
	h.get(c, "/user?UserId=x")
	first := fake.lastToken()
	clk.Add(59 * time.Minute)
	if p := h.get(c, "/user?UserId=x"); p.status != 200 {
		t.Fatalf("lookup after an hour: %d\n%s", p.status, p.body)
	}
	if fake.lastToken() == first {
		t.Fatal("the access token was not refreshed")
	}

	// Sign-out revokes the refresh token and ends the provider session
	// too: Sign in shows the form again.
	sess, err := sessions.Get(t.Context(), h.cookie(c).Value)
	if err != nil || sess.Tokens.RefreshToken == "" {
		t.Fatalf("session: %v", err)
	}
	refresh := func() int {
		req, _ := http.NewRequest("POST", idpURL+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {sess.Tokens.RefreshToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("portal", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := refresh(); code != 200 {
		t.Fatalf("refresh before sign-out: %d", code)
	}
	out := h.post(c, "/auth/logout", nil)
	if out.url.String() != portalURL+"/" {
		t.Fatalf("sign-out ended at %s", out.url)
	}
	mustContain(t, out, "You have signed out.")
	if code := refresh(); code != http.StatusBadRequest {
		t.Errorf("refresh after sign-out: %d, want 400 (revoked)", code)
	}
	again := h.get(c, "/auth/login")
	if !strings.HasPrefix(again.url.String(), idpURL+"/login") || formAction.FindString(again.body) == "" {
		t.Errorf("after sign-out, Sign in went to %s without showing the form", again.url)
	}
}

func TestAccountScreensWithLocalProvider(t *testing.T) {
	l := startLocal(t, true)
	h, c, fake, svc, portalURL := l.h, l.c, l.fake, l.accounts, l.portalURL

	page := h.get(c, "/admin/accounts")
	if page.status != 200 {
		t.Fatalf("accounts: %d\n%s", page.status, page.body)
	}
	mustContain(t, page, `aria-current="page"`, ">Accounts<", "admin@example.com", "CONFIRMED")

	// An account's page links to the items it created, and the link opens
	// the Users page filtered by its sub.
	me, err := svc.Find(t.Context(), "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	fake.items["mine"] = map[string]any{"UserId": "mine", "CreatedBy": me.Sub}
	fake.items["theirs"] = map[string]any{"UserId": "theirs", "CreatedBy": "someone-else"}
	account := h.get(c, "/admin/accounts/find?id="+url.QueryEscape(me.Sub))
	itemsLink := `href="/admin/users?createdBy=` + url.QueryEscape(me.Sub) + `"`
	if account.status != 200 || !strings.Contains(account.body, itemsLink+`>Items this account created<`) {
		t.Fatalf("account page %s (%d) lacks %s:\n%s", account.url, account.status, itemsLink, account.body)
	}
	items := h.get(c, "/admin/users?createdBy="+url.QueryEscape(me.Sub))
	mustContain(t, items, "Items created by", me.Sub, `href="/user?UserId=mine"`)
	mustNotContain(t, items, "theirs")
	post := func(path string, form url.Values) page_ {
		req, _ := http.NewRequest("POST", portalURL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", portalURL)
		r := h.do(c, req)
		return page_{r.status, r.body, r.url.String()}
	}
	r := post("/admin/accounts/invite", url.Values{"email": {"new@example.com"}, "admin": {"yes"}})
	if r.status != 200 || !strings.Contains(r.body, "Invited new@example.com as an admin.") || !strings.Contains(r.body, "FORCE_CHANGE_PASSWORD") {
		t.Fatalf("invite: %d %s\n%s", r.status, r.url, r.body)
	}
	newURL := r.url
	r = post(strings.TrimPrefix(newURL, portalURL)+"/disable", url.Values{})
	if r.status != 200 || !strings.Contains(r.body, ">Confirm<") {
		t.Fatalf("disable: %d\n%s", r.status, r.body)
	}
	r = post(strings.TrimPrefix(newURL, portalURL)+"/disable", url.Values{"confirm": {"yes"}})
	if r.status != 200 || !strings.Contains(r.body, "Disabled new@example.com.") {
		t.Fatalf("confirm disable: %d\n%s", r.status, r.body)
	}
	// A cross-origin post is refused by the portal, and changes nothing.
	req, _ := http.NewRequest("POST", newURL+"/enable", strings.NewReader("confirm=yes"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", l.idpURL)
	if r := h.do(c, req); r.status != 403 {
		t.Fatalf("cross-origin: %d", r.status)
	}
	if a, err := svc.Find(t.Context(), "new@example.com"); err != nil || a.Enabled {
		t.Errorf("after a refused cross-origin Enable: enabled=%v, %v; want still disabled", a.Enabled, err)
	}
	// An admin cannot disable themselves, confirmed or not, and stays
	// enabled.
	for _, form := range []url.Values{{}, {"confirm": {"yes"}}} {
		r := post("/admin/accounts/user/"+url.PathEscape(me.Username)+"/disable", form)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "You cannot disable your own account.") {
			t.Errorf("self-disable %v: %d\n%s", form, r.status, r.body)
		}
	}
	if a, err := svc.Find(t.Context(), "admin@example.com"); err != nil || !a.Enabled {
		t.Errorf("after a refused self-disable: enabled=%v, %v; want enabled", a.Enabled, err)
	}
}

type page_ struct {
	status    int
	body, url string
}

// localStack is the portal in front of the real local identity provider,
// sharing one clock, with a browser signed in as the seeded admin through
// the Hosted UI's form.
type localStack struct {
	clk               *clock
	h                 *harness
	c                 *http.Client
	fake              *fakeUsers
	sessions          *session.Store
	accounts          *accounts.Service // with withAccounts
	provider          *idp.Server
	idpURL, portalURL string
}

// startLocal starts the stack; withAccounts also gives the portal the
// account screens, over the provider's Cognito API with its key pair.
func startLocal(t *testing.T, withAccounts bool) *localStack {
	t.Helper()
	clk := &clock{now: time.Now()}
	dir := t.TempDir()

	portalSrv := httptest.NewUnstartedServer(nil)
	portalURL := fmt.Sprintf("http://localhost:%d", portalSrv.Listener.Addr().(*net.TCPAddr).Port)
	idpSrv := httptest.NewUnstartedServer(nil)
	idpURL := fmt.Sprintf("http://localhost:%d", idpSrv.Listener.Addr().(*net.TCPAddr).Port)

	provider, err := idp.New(idp.Config{
		URL:           idpURL,
		DataDir:       filepath.Join(dir, "idp"),
		Clients:       []idp.Client{idp.DevClient(portalURL, "s3cret")},
		AdminEmail:    "admin@example.com",
		AdminPassword: "Adm1n!local",
		PasswordCost:  users.TestCost,
		Now:           clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { provider.Close() })
	idpSrv.Config.Handler = provider.Handler()
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)

	sessions, err := session.Open(filepath.Join(dir, "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sessions.Close() })
	fake := newFakeUsers()
	fake.items["x"] = api.Item{"UserId": "x"}
	l := &localStack{clk: clk, fake: fake, sessions: sessions, provider: provider, idpURL: idpURL, portalURL: portalURL}
	cfg := portal.Config{
		URL: portalURL, Issuer: provider.Issuer(), ClientID: "portal", ClientSecret: "s3cret",
		Scopes: []string{"openid", "email", "profile"},
		Users:  fake, Sessions: sessions, Log: slog.New(slog.DiscardHandler), Now: clk.Now,
	}
	if withAccounts {
		key, secret := provider.Credentials()
		svc, err := accounts.NewDefault(t.Context(), "us-east-1_LocalPool", func(o *cip.Options) {
			o.BaseEndpoint = aws.String(idpURL)
			o.Credentials = credentials.NewStaticCredentialsProvider(key, secret, "")
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Accounts, l.accounts = svc, svc
	}
	p, err := portal.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	portalSrv.Config.Handler = p
	portalSrv.Start()
	t.Cleanup(portalSrv.Close)

	h := &harness{t: t, url: portalURL}
	c := h.browser()

	// Sign in through the Hosted UI's form.
	login := h.get(c, "/profile")
	m := formAction.FindStringSubmatch(login.body)
	if m == nil {
		t.Fatalf("no sign-in form at %s:\n%s", login.url, login.body)
	}
	target, _ := login.url.Parse(html.UnescapeString(m[1]))
	form := url.Values{"username": {"admin@example.com"}, "password": {"Adm1n!local"}}
	for _, hi := range hiddenInput.FindAllStringSubmatch(login.body, -1) {
		form.Set(hi[1], html.UnescapeString(hi[2]))
	}
	req, _ := http.NewRequest("POST", target.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", idpURL)
	profile := h.do(c, req)
	if profile.url.String() != portalURL+"/profile" {
		t.Fatalf("sign-in ended at %s (%d):\n%s", profile.url, profile.status, profile.body)
	}
	mustContain(t, profile, "admin@example.com", "(verified)", "admins", `href="/admin/users"`)
	l.h, l.c = h, c
	return l
}
