package idp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/usersvc/usersvc/web/idp/users"
)

func TestAuthorizeRejects(t *testing.T) {
	e := newEnv(t)
	p := newPKCE()
	for _, c := range []struct {
		name  string
		extra url.Values
		// errCode is the error sent back to the client; "" means an error
		// page with no redirect at all.
		errCode string
	}{
		{"unknown client", url.Values{"client_id": {"nobody"}}, ""},
		{"unregistered redirect", url.Values{"redirect_uri": {e.conf.CallbackURLs[0] + "/other"}}, ""},
		{"redirect differing in case", url.Values{"redirect_uri": {strings.ToUpper(e.conf.CallbackURLs[0])}}, ""},
		{"redirect prefix", url.Values{"redirect_uri": {strings.TrimSuffix(e.conf.CallbackURLs[0], "/callback")}}, ""},
		{"redirect given twice", url.Values{"redirect_uri": {e.conf.CallbackURLs[0], "https://evil.example/"}}, ""},
		{"implicit flow", url.Values{"response_type": {"token"}}, "unsupported_response_type"},
		{"scope not allowed", url.Values{"scope": {"openid phone"}}, "invalid_scope"},
		{"plain PKCE", url.Values{"code_challenge_method": {"plain"}, "code_challenge": {p.verifier}}, "invalid_request"},
		{"no PKCE", url.Values{"code_challenge_method": nil, "code_challenge": nil}, "invalid_request"},
		{"malformed challenge", url.Values{"code_challenge": {"short"}}, "invalid_request"},
		{"unknown prompt", url.Values{"prompt": {"consent"}}, "invalid_request"},
		{"prompt none without session", url.Values{"prompt": {"none"}}, "login_required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser(t)
			b.follow = false
			q := c.extra
			p := b.get(e.authorizeURL(e.conf, p, q))
			if c.errCode == "" {
				if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
					t.Fatalf("status %d, Location %q: want 400 and no redirect", p.status, p.header.Get("Location"))
				}
				return
			}
			loc, _ := url.Parse(p.header.Get("Location"))
			if p.status != http.StatusFound || loc.Query().Get("error") != c.errCode || loc.Query().Get("state") != "st" {
				t.Fatalf("status %d to %q, want a redirect with error=%s&state=st", p.status, loc, c.errCode)
			}
			if !strings.HasPrefix(loc.String(), e.conf.CallbackURLs[0]+"?") {
				t.Fatalf("redirected to %s, not the registered callback", loc)
			}
		})
	}
}

func TestTokenRejects(t *testing.T) {
	e := newEnv(t)
	const email = "tok@example.com"
	e.signUpAndConfirm(newBrowser(t), email)
	callback := e.conf.CallbackURLs[0]

	type call struct {
		form  url.Values
		basic *[2]string
	}
	withCode := func(c Client, edit func(code string, p pkce) call) func() call {
		return func() call {
			p := newPKCE()
			return edit(e.code(c, email, p), p)
		}
	}
	confBasic := &[2]string{"portal", secret}
	for _, c := range []struct {
		name   string
		call   func() call
		status int
		code   string
	}{
		{"wrong verifier", withCode(e.conf, func(code string, p pkce) call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {newPKCE().verifier}}, confBasic}
		}), 400, "invalid_grant"},
		{"missing verifier", withCode(e.conf, func(code string, p pkce) call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}}, confBasic}
		}), 400, "invalid_grant"},
		{"plain verifier (challenge itself)", withCode(e.conf, func(code string, p pkce) call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {p.challenge}}, confBasic}
		}), 400, "invalid_grant"},
		{"other redirect_uri", withCode(e.conf, func(code string, p pkce) call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback + "x"}, "code_verifier": {p.verifier}}, confBasic}
		}), 400, "invalid_grant"},
		{"code of another client", withCode(e.public, func(code string, p pkce) call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {p.verifier}}, confBasic}
		}), 400, "invalid_grant"},
		{"unknown code", func() call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {callback}, "code_verifier": {newPKCE().verifier}}, confBasic}
		}, 400, "invalid_grant"},
		{"wrong secret", withCode(e.conf, func(code string, p pkce) call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {p.verifier}}, &[2]string{"portal", "wrong"}}
		}), 401, "invalid_client"},
		{"wrong secret in form", withCode(e.conf, func(code string, p pkce) call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {p.verifier}, "client_id": {"portal"}, "client_secret": {"wrong"}}, nil}
		}), 401, "invalid_client"},
		{"no secret for a confidential client", withCode(e.conf, func(code string, p pkce) call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {p.verifier}, "client_id": {"portal"}}, nil}
		}), 401, "invalid_client"},
		{"secret for a public client", withCode(e.public, func(code string, p pkce) call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {p.verifier}}, &[2]string{"spa", "x"}}
		}), 401, "invalid_client"},
		{"unknown client", func() call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {callback}, "client_id": {"nobody"}}, nil}
		}, 401, "invalid_client"},
		{"no client at all", func() call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, nil}
		}, 401, "invalid_client"},
		{"Basic and form secret together", func() call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_secret": {secret}}, confBasic}
		}, 400, "invalid_request"},
		{"parameter twice", func() call {
			return call{url.Values{"grant_type": {"authorization_code"}, "code": {"a", "b"}}, confBasic}
		}, 400, "invalid_request"},
		{"no grant type", func() call { return call{url.Values{"code": {"a"}}, confBasic} }, 400, "invalid_request"},
		{"client credentials", func() call { return call{url.Values{"grant_type": {"client_credentials"}}, confBasic} }, 400, "unsupported_grant_type"},
		{"password grant", func() call {
			return call{url.Values{"grant_type": {"password"}, "username": {email}, "password": {testPassword}}, confBasic}
		}, 400, "unsupported_grant_type"},
		{"unknown refresh token", func() call {
			return call{url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, confBasic}
		}, 400, "invalid_grant"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := c.call()
			status, hdr, body := e.post("/oauth2/token", cl.form, cl.basic)
			if status != c.status || body["error"] != c.code {
				t.Fatalf("got %d %v, want %d %s", status, body, c.status, c.code)
			}
			if hdr.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", hdr.Get("Cache-Control"))
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if _, ok := body["access_token"]; ok {
				t.Error("error response carries a token")
			}
		})
	}

	t.Run("wrong method and content type", func(t *testing.T) {
		resp, err := http.Get(e.idp.URL + "/oauth2/token")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET: %d", resp.StatusCode)
		}
		resp, err = http.Post(e.idp.URL+"/oauth2/token", "application/json", strings.NewReader(`{"grant_type":"authorization_code"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("JSON body: %d", resp.StatusCode)
		}
	})

	t.Run("replayed code revokes its tokens", func(t *testing.T) {
		p := newPKCE()
		code := e.code(e.public, email, p)
		status, first := e.exchange(e.public, code, p)
		if status != http.StatusOK {
			t.Fatalf("first exchange: %d %v", status, first)
		}
		status, again := e.exchange(e.public, code, p)
		if status != http.StatusBadRequest || again["error"] != "invalid_grant" {
			t.Fatalf("replay: %d %v", status, again)
		}
		status, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}, "client_id": {"spa"}}, nil)
		if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("refresh token of a replayed code: %d %v", status, body)
		}
		req, _ := http.NewRequest(http.MethodGet, e.idp.URL+"/oauth2/userInfo", nil)
		req.Header.Set("Authorization", "Bearer "+first["access_token"].(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("userInfo with a replayed code's access token: %d", resp.StatusCode)
		}
	})

	t.Run("expired code", func(t *testing.T) {
		p := newPKCE()
		code := e.code(e.public, email, p)
		e.clock.Advance(CodeTTL)
		defer e.clock.Advance(-CodeTTL)
		if status, body := e.exchange(e.public, code, p); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("expired code: %d %v", status, body)
		}
	})

	t.Run("refresh token of another client", func(t *testing.T) {
		p := newPKCE()
		_, tok := e.exchange(e.public, e.code(e.public, email, p), p)
		status, _, body := e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, confBasic)
		if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("%d %v", status, body)
		}
		status, _, body = e.post("/oauth2/revoke", url.Values{"token": {tok["refresh_token"].(string)}}, confBasic)
		if status != http.StatusBadRequest {
			t.Fatalf("revoke by another client: %d %v", status, body)
		}
	})
}

func TestUserInfoRejects(t *testing.T) {
	e := newEnv(t)
	e.signUpAndConfirm(newBrowser(t), "ui@example.com")
	p := newPKCE()
	_, tok := e.exchange(e.public, e.code(e.public, "ui@example.com", p), p)
	access, id := tok["access_token"].(string), tok["id_token"].(string)
	for _, c := range []struct{ name, auth string }{
		{"no header", ""},
		{"not bearer", "Basic " + access},
		{"ID token", "Bearer " + id},
		{"tampered", "Bearer " + access[:len(access)-4] + "AAAA"},
		{"garbage", "Bearer x.y.z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.idp.URL+"/oauth2/userInfo", nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.clock.Advance(2 * time.Hour)
		defer e.clock.Advance(-2 * time.Hour)
		req, _ := http.NewRequest(http.MethodPost, e.idp.URL+"/oauth2/userInfo", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
}

func TestHostedUI(t *testing.T) {
	e := newEnv(t)
	p := newPKCE()
	loginURL := func() string { return e.authorizeURL(e.public, p, nil) }

	t.Run("unconfirmed user cannot sign in", func(t *testing.T) {
		b := newBrowser(t)
		signup := b.get(strings.Replace(b.get(loginURL()).url.String(), "/login?", "/signup?", 1))
		b.submit(signup, url.Values{"username": {"new@example.com"}, "password": {testPassword}})
		before, _ := e.srv.Outbox().List()
		b.follow = false
		resp := b.submit(b.open(loginURL()), url.Values{"username": {"new@example.com"}, "password": {testPassword}})
		if resp.status != http.StatusForbidden || resp.header.Get("Location") != "" {
			t.Fatalf("status %d, Location %q", resp.status, resp.header.Get("Location"))
		}
		mustContain(t, resp, "not confirmed")
		after, _ := e.srv.Outbox().List()
		if len(after) != len(before) {
			t.Error("the sign-in page mailed a verification link")
		}
		b.follow = true
		link, _ := e.srv.Outbox().VerificationLink("new@example.com", "/confirmUser")
		if p := b.get(link); p.status != http.StatusOK {
			t.Fatalf("confirm: %d", p.status)
		}
		if p := b.get(link); p.status != http.StatusBadRequest {
			t.Fatalf("confirm link reused: %d", p.status)
		}
	})

	// Issue 13, point 4, as the attack: the owner signs up, the attacker
	// signs up the same address with their own password; the owner then
	// opens the newest link. It must confirm the owner's password, and the
	// attacker's sign-up must mail no link at all.
	const attackerPass, ownerPass = "Att4cker-pw", "0wner-Passw0rd"
	signUp := func(t *testing.T, email, password string) *browser {
		b := newBrowser(t)
		signup := b.get(strings.Replace(b.get(loginURL()).url.String(), "/login?", "/signup?", 1))
		p := b.submit(signup, url.Values{"username": {email}, "password": {password}})
		mustContain(t, p, "Check your email")
		return b
	}
	signIn := func(t *testing.T, email, password string) int {
		b := newBrowser(t)
		b.follow = false
		return b.submit(b.open(loginURL()), url.Values{"username": {email}, "password": {password}}).status
	}
	t.Run("pre-registered address", func(t *testing.T) {
		const victim = "victim@example.com"
		owner := signUp(t, victim, ownerPass)
		ownerLink, err := e.srv.Outbox().VerificationLink(victim, "/confirmUser")
		if err != nil {
			t.Fatal(err)
		}
		signUp(t, victim, attackerPass)
		if link, _ := e.srv.Outbox().VerificationLink(victim, "/confirmUser"); link != ownerLink {
			t.Fatal("the second sign-up mailed a new link")
		}
		if m, err := e.srv.Outbox().Latest(victim); err != nil || !strings.Contains(m.Subject, "waiting for confirmation") {
			t.Fatalf("owner not told of the second sign-up: %+v %v", m, err)
		}
		if p := owner.get(ownerLink); p.status != http.StatusOK || !strings.Contains(p.body, "Registration confirmed") {
			t.Fatalf("owner's link in the owner's browser: %d\n%s", p.status, p.body)
		}
		if got := signIn(t, victim, attackerPass); got != http.StatusUnauthorized {
			t.Errorf("attacker's password: %d", got)
		}
		if got := signIn(t, victim, ownerPass); got != http.StatusFound {
			t.Errorf("owner's password: %d", got)
		}
		// Now confirmed: another sign-up changes nothing.
		signUp(t, victim, attackerPass)
		if _, err := e.srv.Users().Authenticate(t.Context(), victim, attackerPass); err == nil {
			t.Fatal("sign-up of a confirmed address changed its password")
		}
	})

	// The other way round: the attacker signs up first; the owner opens
	// the link mailed for it in the owner's own browser. The link asks for
	// the password chosen at sign-up, which the owner does not know, so the
	// click confirms nothing; the owner claims the address by a reset.
	t.Run("someone else's sign-up of your address", func(t *testing.T) {
		const victim = "victim2@example.com"
		signUp(t, victim, attackerPass)
		link, err := e.srv.Outbox().VerificationLink(victim, "/confirmUser")
		if err != nil {
			t.Fatal(err)
		}
		owner := newBrowser(t)
		ask := owner.get(link)
		mustContain(t, ask, "Confirm your registration")
		if p := owner.submit(ask, url.Values{"password": {ownerPass}}); p.status != http.StatusUnauthorized {
			t.Fatalf("a wrong password on the link's page: %d", p.status)
		}
		if u, _ := e.srv.Users().ByEmail(t.Context(), victim); u.Status != users.Unconfirmed {
			t.Fatalf("the owner's click confirmed the attacker's account: %s", u.Status)
		}
		if got := signIn(t, victim, attackerPass); got != http.StatusForbidden {
			t.Fatalf("attacker's sign-in: %d, want 403 (not confirmed)", got)
		}
		// Whoever knows the password (the one who signed up, in another
		// browser) can still confirm with it.
		other := newBrowser(t)
		if p := other.submit(other.get(link), url.Values{"password": {attackerPass}}); p.status != http.StatusOK || !strings.Contains(p.body, "Registration confirmed") {
			t.Fatalf("the registrant's password on the link's page: %d\n%s", p.status, p.body)
		}
	})

	t.Run("sign-up reveals no account", func(t *testing.T) {
		b := newBrowser(t)
		signupURL := strings.Replace(b.get(loginURL()).url.String(), "/login?", "/signup?", 1)
		fresh := b.submit(b.get(signupURL), url.Values{"username": {"someone@example.com"}, "password": {testPassword}})
		taken := b.submit(b.get(signupURL), url.Values{"username": {adminEmail}, "password": {testPassword}})
		if fresh.status != taken.status || fresh.body != taken.body {
			t.Fatalf("sign-up pages differ for a new and a taken address:\n%s\n---\n%s", fresh.body, taken.body)
		}
		m, err := e.srv.Outbox().Latest(adminEmail)
		if err != nil || !strings.Contains(m.Subject, "tried to sign up") {
			t.Fatalf("owner of the taken address not told: %+v %v", m, err)
		}
		if _, err := e.srv.Users().Authenticate(t.Context(), adminEmail, testPassword); err == nil {
			t.Fatal("sign-up with a taken address changed its password")
		}
	})

	t.Run("weak password", func(t *testing.T) {
		b := newBrowser(t)
		signup := b.get(strings.Replace(b.get(loginURL()).url.String(), "/login?", "/signup?", 1))
		resp := b.submit(signup, url.Values{"username": {"weak@example.com"}, "password": {"password"}})
		if resp.status != http.StatusBadRequest {
			t.Fatalf("status %d", resp.status)
		}
		mustContain(t, resp, "uppercase")
		mustContain(t, resp, "special character")
	})

	t.Run("unknown and wrong password answer alike", func(t *testing.T) {
		b := newBrowser(t)
		wrong := b.submit(b.open(loginURL()), url.Values{"username": {adminEmail}, "password": {"Wrong-passw0rd"}})
		unknown := b.submit(b.open(loginURL()), url.Values{"username": {"ghost@example.com"}, "password": {"Wrong-passw0rd"}})
		if wrong.status != http.StatusUnauthorized || unknown.status != wrong.status {
			t.Fatalf("statuses %d and %d", wrong.status, unknown.status)
		}
		mustContain(t, wrong, msgBadCredentials)
		mustContain(t, unknown, msgBadCredentials)
	})

	t.Run("lockout", func(t *testing.T) {
		for _, user := range []string{"locked@example.com", "ghost2@example.com"} {
			if user == "locked@example.com" {
				e.signUpAndConfirm(newBrowser(t), user)
			}
			b := newBrowser(t)
			var resp page
			for i := range LockoutThreshold {
				resp = b.submit(b.open(loginURL()), url.Values{"username": {user}, "password": {"Wrong-passw0rd"}})
				if i < LockoutThreshold-1 && resp.status != http.StatusUnauthorized {
					t.Fatalf("%s attempt %d: %d", user, i+1, resp.status)
				}
			}
			if resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") == "" {
				t.Fatalf("%s: after %d failures status %d", user, LockoutThreshold, resp.status)
			}
			mustContain(t, resp, "locked")
			b.follow = false
			if resp = b.submit(b.open(loginURL()), url.Values{"username": {user}, "password": {testPassword}}); resp.status != http.StatusTooManyRequests {
				t.Fatalf("%s: right password while locked: %d", user, resp.status)
			}
		}
		e.clock.Advance(LockoutBase)
		b := newBrowser(t)
		b.follow = false
		if resp := b.submit(b.open(loginURL()), url.Values{"username": {"locked@example.com"}, "password": {testPassword}}); resp.status != http.StatusFound {
			t.Fatalf("after the lock expired: %d", resp.status)
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			token string
			hdr   map[string]string
		}{
			{"missing token", "", nil},
			{"wrong token", "AAAA", nil},
			{"cross-site POST", "keep", map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"other origin", "keep", map[string]string{"Origin": "http://localhost:1"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				b := newBrowser(t)
				b.follow = false
				login := b.open(loginURL())
				action, csrf := formOf(t, login)
				form := url.Values{"username": {adminEmail}, "password": {adminPass}, "_csrf": {c.token}}
				if c.token == "keep" {
					form.Set("_csrf", csrf)
				}
				req, _ := http.NewRequest(http.MethodPost, login.url.ResolveReference(action).String(), strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for k, v := range c.hdr {
					req.Header.Set(k, v)
				}
				if resp := b.do(req); resp.status != http.StatusForbidden {
					t.Fatalf("status %d, want 403", resp.status)
				}
			})
		}
	})

	t.Run("forgot password", func(t *testing.T) {
		const user = "forgot@example.com"
		e.signUpAndConfirm(newBrowser(t), user)
		b := newBrowser(t)
		forgotURL := strings.Replace(b.get(loginURL()).url.String(), "/login?", "/forgotPassword?", 1)

		ghost := b.submit(b.get(forgotURL), url.Values{"username": {"ghost3@example.com"}})
		reset := b.submit(b.get(forgotURL), url.Values{"username": {user}})
		if ghost.status != reset.status || ghost.url.Path != "/confirmForgotPassword" || reset.url.Path != ghost.url.Path {
			t.Fatalf("forgot: %d %s vs %d %s", ghost.status, ghost.url, reset.status, reset.url)
		}
		if _, err := e.srv.Outbox().Latest("ghost3@example.com"); err == nil {
			t.Error("mail sent to an address without an account")
		}
		m, err := e.srv.Outbox().Latest(user)
		if err != nil || m.Code() == "" {
			t.Fatalf("no reset code mailed: %+v %v", m, err)
		}
		const newPass = "N3w-password!"
		bad := b.submit(reset, url.Values{"username": {user}, "code": {"000000"}, "password": {newPass}, "confirmPassword": {newPass}})
		if bad.status != http.StatusBadRequest {
			t.Fatalf("wrong code: %d", bad.status)
		}
		mustContain(t, bad, "Invalid code")
		ok := b.submit(reset, url.Values{"username": {user}, "code": {m.Code()}, "password": {newPass}, "confirmPassword": {newPass}})
		if ok.status != http.StatusOK {
			t.Fatalf("reset: %d\n%s", ok.status, ok.body)
		}
		if _, err := e.srv.Users().Authenticate(t.Context(), user, newPass); err != nil {
			t.Fatal("new password does not work")
		}
	})

	t.Run("logout to an unregistered URI", func(t *testing.T) {
		b := newBrowser(t)
		b.follow = false
		for _, q := range []url.Values{
			{"client_id": {"spa"}, "logout_uri": {"https://evil.example/"}},
			{"client_id": {"spa"}},
			{"client_id": {"nobody"}, "logout_uri": {e.public.LogoutURLs[0]}},
		} {
			if p := b.get(e.idp.URL + "/logout?" + q.Encode()); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
				t.Errorf("logout %v: %d to %q", q, p.status, p.header.Get("Location"))
			}
		}
	})

	t.Run("pages are CSP-strict and labelled", func(t *testing.T) {
		b := newBrowser(t)
		login := b.open(loginURL())
		for _, path := range []string{"/login?", "/signup?", "/forgotPassword?", "/confirmForgotPassword?"} {
			p := b.get(strings.Replace(login.url.String(), "/login?", path, 1))
			csp := p.header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
				t.Errorf("%s: CSP %q", path, csp)
			}
			if strings.Count(p.body, "<input id=") != strings.Count(p.body, "<label for=") {
				t.Errorf("%s: an input without a label", path)
			}
			if strings.Contains(p.body, "<script") || strings.Contains(p.body, "style=") {
				t.Errorf("%s: inline script or style", path)
			}
		}
	})
}
