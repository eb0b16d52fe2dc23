package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/usersvc/usersvc/web/idp/outbox"
)

// devStack is `portal dev` running in this process on free ports.
type devStack struct {
	portal, idp, api string
	data             string
	stderr           *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDev runs runDev with every server on a free port and returns once it
// has printed its URLs. It stops when the test ends.
func startDev(t *testing.T, env map[string]string) *devStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	data := t.TempDir()
	outR, outW := io.Pipe()
	s := &devStack{data: data, stderr: &lockedBuffer{}}
	done := make(chan error, 1)
	go func() {
		err := runDev(ctx, []string{"-addr", "127.0.0.1:0", "-idp-addr", "127.0.0.1:0", "-api-addr", "127.0.0.1:0", "-data", data},
			func(k string) string { return env[k] }, outW, s.stderr)
		outW.CloseWithError(fmt.Errorf("runDev returned: %v", err))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runDev: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("runDev did not stop within 10 s of cancellation")
		}
	})
	sc := bufio.NewScanner(outR)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "portal":
			s.portal = f[1]
		case "idp":
			s.idp = f[1]
		case "api":
			s.api = f[1]
		}
		if f[0] == "admin" {
			break
		}
	}
	go io.Copy(io.Discard, outR)
	if s.portal == "" || s.idp == "" || s.api == "" {
		t.Fatalf("portal dev printed no URLs (%v); stderr:\n%s", sc.Err(), s.stderr.String())
	}
	return s
}

// TestDevWithoutBrowser checks the start-up contract (three URLs on
// localhost, the admin's login, a clean stop) and the stack's wiring with a
// plain HTTP client: sign in through the provider's form, create a user
// through the API, list it as the admin; and the redirect from another host
// name to the canonical one.
func TestDevWithoutBrowser(t *testing.T) {
	start := time.Now()
	s := startDev(t, map[string]string{"PORTAL_DEV_ADMIN_PASSWORD": "Adm1n!e2e-pass"})
	t.Logf("ready in %v: portal %s, idp %s, api %s", time.Since(start), s.portal, s.idp, s.api)
	for _, u := range []string{s.portal, s.idp, s.api} {
		if !strings.HasPrefix(u, "http://localhost:") {
			t.Errorf("URL %q is not on localhost", u)
		}
	}

	c := goBrowser(t)
	signInWithForm(t, c, s.portal, "admin@example.com", "Adm1n!e2e-pass")
	form := url.Values{"UserId": {"wired"}, "Attributes": {`{"n": 12345678901234567890.5}`}, "action": {"create"}}
	req, _ := http.NewRequest("POST", s.portal+"/user/new", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.portal)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Created user wired.") || !strings.Contains(string(body), "12345678901234567890.5") {
		t.Fatalf("create: %d\n%s", resp.StatusCode, body)
	}
	resp, err = c.Get(s.portal + "/admin/users")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `href="/user?UserId=wired"`) {
		t.Errorf("users: %d\n%s", resp.StatusCode, body)
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, base := range []string{s.portal, s.idp} {
		other := strings.Replace(base, "localhost", "127.0.0.1", 1)
		resp, err := noFollow.Get(other + "/some/path?x=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != base+"/some/path?x=1" {
			t.Errorf("GET %s: %d to %q, want a redirect to %s", other, resp.StatusCode, loc, base)
		}
	}
}

// chromium finds the browser, or skips the test (fails it under CI=true).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI=true requires the browser test (apt-get install chromium)")
	}
	t.Skip("chromium is not installed; the end-to-end browser test needs it (apt-get install chromium)")
	return ""
}

// browserSession drives one headless Chromium and saves a screenshot of
// every page it is asked to.
type browserSession struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
}

func newBrowser(t *testing.T, path string) *browserSession {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	shots := os.Getenv("E2E_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browserSession{t: t, ctx: ctx, shots: shots}
}

func (b *browserSession) fail(step string, err error) {
	b.t.Helper()
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	b.shot("failure")
	body, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
	b.t.Fatalf("%s: %v\nat %s:\n%s", step, err, loc, body)
}

// open navigates to url.
func (b *browserSession) open(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.fail("open "+url, err)
	}
}

// follow clicks the element and waits for the page it leads to, returning
// that page's status.
func (b *browserSession) follow(sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.fail("click "+sel, err)
	}
	return resp.Status
}

func (b *browserSession) fill(sel, value string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeVisible)); err != nil {
		b.fail("fill "+sel, err)
	}
}

func (b *browserSession) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.fail("read "+sel, err)
	}
	return s
}

func (b *browserSession) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fail("location", err)
	}
	return s
}

// expect checks that the page's main text has every string in want.
func (b *browserSession) expect(step string, want ...string) {
	b.t.Helper()
	body := b.text("body")
	for _, w := range want {
		if !strings.Contains(body, w) {
			b.fail(step, fmt.Errorf("page lacks %q", w))
		}
	}
}

// shot saves a full-page screenshot as NN-name.png.
func (b *browserSession) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.n++
	path := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
	}
}

// TestBrowserEndToEnd drives headless Chromium through what a person does
// with `make run`: sign up, confirm by the mailed link, sign in, create a
// user, look it up, be refused the Users page, sign out; then the admin
// signs in, finds that user in Users, invites another from Accounts and
// adds the first to admins; the invitee signs in with the mailed temporary
// password and sets a new one; the admin disables the invitee, whose next
// sign-in fails; and the new admin sees Accounts. The portal runs through
// its Lambda entry point behind the gateway, as on AWS.
func TestBrowserEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test takes several seconds; skipped with -short")
	}
	path := chromium(t)
	const (
		adminEmail    = "admin@example.com"
		adminPassword = "Adm1n!e2e-pass"
		email         = "grace@example.com"
		password      = "Hopper#1906"
		userID        = "e2e-user-1"

		invitee         = "ada@example.com"
		inviteePassword = "Lovelace#1815"
	)
	s := startDev(t, map[string]string{"PORTAL_DEV_ADMIN_PASSWORD": adminPassword})
	b := newBrowser(t, path)
	start := time.Now()

	b.open(s.portal)
	b.expect("home", "Sign in", "Sign up")
	b.shot("home")

	// Sign up on the provider's Hosted UI.
	b.follow(`a[href="/auth/signup"]`)
	if loc := b.location(); !strings.HasPrefix(loc, s.idp+"/signup") {
		t.Fatalf("Sign up led to %s", loc)
	}
	b.shot("signup")
	b.fill("#username", email)
	b.fill("#password", password)
	b.follow(`button[name="signUpButton"]`)
	b.expect("after sign-up", "Check your email")
	b.shot("check-mail")

	// Open the verification link from the outbox.
	mail := outbox.New(filepath.Join(s.data, "outbox"), "", slog.New(slog.DiscardHandler), time.Now)
	link, err := mail.VerificationLink(email, "/confirmUser")
	if err != nil {
		t.Fatalf("no verification mail: %v", err)
	}
	b.open(link)
	b.expect("confirm", "Registration confirmed")
	b.shot("confirmed")

	// Sign in, and arrive back at the portal signed in.
	b.open(s.portal)
	signIn(t, b, s, email, password)
	b.shot("signed-in")

	// Create a user with rows and JSON attributes.
	b.follow(`nav a[href="/user/new"]`)
	b.expect("create form", "Create user", "User ID", "Attributes")
	b.fill("#UserId", userID)
	b.fill("#row-0-name", "Name")
	b.fill("#row-0-value", "Grace")
	b.fill("#row-1-name", "Born")
	if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS("#row-1-type"), "number")); err != nil {
		b.fail("choose type", err)
	}
	b.fill("#row-1-value", "1906")
	b.fill("#Attributes", `{"Languages": ["COBOL", "FLOW-MATIC"], "Navy": {"Rank": "Rear Admiral"}}`)
	b.shot("create-form")
	if status := b.follow(`button[value="create"]`); status != 200 {
		b.fail("create", fmt.Errorf("status %d", status))
	}
	b.expect("created", "Created user "+userID+".", "Grace", "1906", "FLOW-MATIC", "Rear Admiral")
	b.shot("created")

	// Look it up through the form.
	b.follow(`nav a[href="/user"]`)
	b.fill("#UserId", userID)
	if status := b.follow(`main button[type="submit"]`); status != 200 {
		b.fail("look up", fmt.Errorf("status %d", status))
	}
	b.expect("looked up", "User "+userID, "Languages", "COBOL")
	b.shot("lookup")
	// The same page on a phone-sized screen.
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))); err != nil {
		b.fail("phone viewport", err)
	}
	b.shot("lookup-phone")
	if err := chromedp.Do(b.ctx, chromedp.ResetViewport()); err != nil {
		b.fail("reset viewport", err)
	}

	// The Users page is for admins only.
	b.open(s.portal + "/admin/users")
	b.expect("users refused", "for administrators")
	if strings.Contains(b.text("header"), "Users") {
		b.fail("navigation", errors.New("a non-admin sees the Users link"))
	}
	b.shot("users-refused")

	// Sign out: through the provider's /logout and back.
	b.follow(`header form button[type="submit"]`)
	b.expect("signed out", "You have signed out.", "Sign in")
	if loc := b.location(); !strings.HasPrefix(loc, s.portal) {
		t.Fatalf("sign-out ended at %s", loc)
	}
	b.shot("signed-out")

	// The admin signs in (the provider session ended, so the form shows).
	signIn(t, b, s, adminEmail, adminPassword)
	b.follow(`nav a[href="/admin/users"]`)
	b.expect("users", "Users", userID)
	b.shot("admin-users")
	b.follow(`a[href="/user?UserId=` + userID + `"]`)
	b.expect("user from list", "Grace")

	// Accounts (issue 12): the admin invites a user, who gets a temporary
	// password by mail, and adds the user who signed up to admins.
	b.follow(`nav a[href="/admin/accounts"]`)
	b.expect("accounts", "Accounts", adminEmail, email, "CONFIRMED")
	b.shot("accounts")
	b.follow(`main a[href="/admin/accounts/invite"]`)
	b.fill("#email", invitee)
	b.follow(`form[action="/admin/accounts/invite"] button[type="submit"]`)
	b.expect("invited", "Invited "+invitee, "FORCE_CHANGE_PASSWORD")
	b.shot("invited")
	openAccount(b, s, email)
	accountAction(b, "grant", "Add to admins", "Added "+email+" to admins.")

	b.follow(`header form button[type="submit"]`)
	b.expect("admin signed out", "You have signed out.")
	b.shot("admin-signed-out")

	// The invitee's first sign-in, with the mailed temporary password,
	// asks for a new one on the provider's "Change password" page.
	invitation, err := mail.Latest(invitee)
	if err != nil {
		t.Fatalf("no invitation: %v", err)
	}
	temp := regexp.MustCompile(`temporary password is\s+(\S+)`).FindStringSubmatch(invitation.Body)
	if temp == nil {
		t.Fatalf("no temporary password in the invitation %q", invitation.Body)
	}
	b.follow(`header a[href="/auth/login"]`)
	b.fill("#username", invitee)
	b.fill("#password", temp[1])
	b.follow(`button[name="signInSubmitButton"]`)
	b.expect("change password", "Change password", "New password")
	b.shot("change-password")
	b.fill("#password", inviteePassword)
	b.fill("#confirmPassword", inviteePassword)
	b.follow(`button[name="change_password"]`)
	b.expect("invitee signed in", "Signed in as "+invitee, "Sign out")
	b.follow(`header form button[type="submit"]`)
	b.expect("invitee signed out", "You have signed out.")

	// The admin disables the invitee, whose next sign-in fails.
	signIn(t, b, s, adminEmail, adminPassword)
	openAccount(b, s, invitee)
	accountAction(b, "disable", "Disable", "Disabled "+invitee+".")
	b.follow(`header form button[type="submit"]`)
	b.expect("admin signed out again", "You have signed out.")
	b.follow(`header a[href="/auth/login"]`)
	b.fill("#username", invitee)
	b.fill("#password", inviteePassword)
	b.follow(`button[name="signInSubmitButton"]`)
	b.expect("disabled sign-in", "User is disabled.")
	if loc := b.location(); !strings.HasPrefix(loc, s.idp) {
		t.Fatalf("a disabled user's sign-in ended at %s", loc)
	}
	b.shot("disabled")

	// The user made admin sees Accounts at their next sign-in.
	b.open(s.portal)
	signIn(t, b, s, email, password)
	b.follow(`nav a[href="/admin/accounts"]`)
	b.expect("new admin's accounts", "Accounts", invitee)
	b.shot("new-admin-accounts")
	b.follow(`header form button[type="submit"]`)
	b.expect("new admin signed out", "You have signed out.")
	t.Logf("browser flow took %v; screenshots in %s", time.Since(start), b.shots)

	// The portal was served as it is on AWS: every page through the
	// gateway's public $default route and the Lambda entry point, so the
	// access log holds its requests beside the API's.
	access, err := os.ReadFile(filepath.Join(s.data, "api", "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"httpMethod":"GET","resourcePath":"","routeKey":"$default","status":"200"`,
		`"httpMethod":"POST","resourcePath":"","routeKey":"$default","status":"303"`,
		`"routeKey":"POST /user","status":"201"`,
	} {
		if !strings.Contains(string(access), want) {
			t.Errorf("access log lacks %s:\n%s", want, access)
		}
	}
}

// openAccount finds an account by its email on the Accounts page and
// opens it.
func openAccount(b *browserSession, s *devStack, email string) {
	b.t.Helper()
	b.open(s.portal + "/admin/accounts")
	b.fill("#email", email)
	b.follow(`form[role="search"] button[type="submit"]`)
	b.expect("search "+email, email)
	b.follow(`main table a`)
	b.expect("account "+email, email)
}

// accountAction presses an action's button on an account's page, then
// Confirm, and expects the flash.
func accountAction(b *browserSession, name, button, flash string) {
	b.t.Helper()
	sel := `form[action$="/` + name + `"] button`
	if got := b.text(sel); got != button {
		b.fail(name, fmt.Errorf("button %q, want %q", got, button))
	}
	b.follow(sel)
	b.expect("confirm "+name, "Confirm")
	b.follow(`form.actions button[type="submit"]`)
	b.expect(name+" done", flash)
	b.shot(name)
}

// signIn goes from a portal page through the provider's sign-in form and
// back, signed in.
func signIn(t *testing.T, b *browserSession, s *devStack, email, password string) {
	t.Helper()
	b.follow(`header a[href="/auth/login"]`)
	if loc := b.location(); !strings.HasPrefix(loc, s.idp+"/login") {
		b.fail("sign in", fmt.Errorf("Sign in led to %s", loc))
	}
	b.fill("#username", email)
	b.fill("#password", password)
	b.shot("idp-login")
	b.follow(`button[name="signInSubmitButton"]`)
	if loc := b.location(); !strings.HasPrefix(loc, s.portal+"/") {
		b.fail("sign in", fmt.Errorf("sign-in ended at %s", loc))
	}
	b.expect("signed in", "Signed in as "+email, "Sign out")
}
