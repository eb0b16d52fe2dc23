// Package signin signs a user in at the local identity provider the way a
// browser would, for command-line tools and tests that need tokens: it
// drives the Hosted UI code flow with PKCE (GET /oauth2/authorize, the
// sign-in form with its CSRF token and cookies, the redirect to the
// callback, which it captures instead of following) and exchanges the code
// at /oauth2/token.
//
// It works only against the local provider: Cognito's Hosted UI pages have
// other markup (and may ask for MFA or show a captcha).
package signin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/oauth2"
)

// Config says who signs in where.
type Config struct {
	// URL is the provider's origin, e.g. http://localhost:9229.
	URL          string
	ClientID     string
	ClientSecret string // empty for a public client
	// RedirectURI is one of the client's registered callbacks. Nothing is
	// ever sent to it: the redirect is captured.
	RedirectURI string
	Scopes      []string
	Username    string
	Password    string
	// HTTPClient is used for its transport and timeout; a default with a
	// 30 s timeout when nil. Its cookie jar and redirect policy are not.
	HTTPClient *http.Client
}

// Tokens is the token endpoint's answer.
type Tokens struct {
	IDToken      string `json:"id_token,omitempty"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
	// Raw is the response body as received.
	Raw json.RawMessage `json:"-"`
}

// ErrRejected is wrapped by the error of a sign-in the provider refused
// (wrong password, locked, unconfirmed); the error's text carries the page's
// message.
var ErrRejected = errors.New("sign-in refused")

// Run signs in and returns the tokens.
func Run(ctx context.Context, cfg Config) (*Tokens, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("provider URL %q is not an absolute URL", cfg.URL)
	}
	callback, err := url.Parse(cfg.RedirectURI)
	if err != nil || !callback.IsAbs() {
		return nil, fmt.Errorf("redirect URI %q is not an absolute URL", cfg.RedirectURI)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Timeout: 30 * time.Second, Jar: jar}
	if cfg.HTTPClient != nil {
		hc.Transport, hc.Timeout = cfg.HTTPClient.Transport, cfg.HTTPClient.Timeout
	}
	// Stop at the callback: the code is in its URL, and the application
	// behind it (if any) must not redeem it first.
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if isCallback(req.URL, callback) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}

	verifier := oauth2.GenerateVerifier()
	state := rand.Text()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {cfg.ClientID},
		"redirect_uri":          {cfg.RedirectURI},
		"scope":                 {strings.Join(cfg.Scopes, " ")},
		"state":                 {state},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	resp, err := get(ctx, hc, base.String()+"/oauth2/authorize?"+q.Encode())
	if err != nil {
		return nil, err
	}
	body, err := readPage(resp)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		if loc := resp.Header.Get("Location"); loc != "" {
			return nil, fmt.Errorf("authorize: redirected to the callback with %s", errorOf(loc))
		}
		return nil, fmt.Errorf("authorize: %s: %s", resp.Status, pageMessage(body))
	}
	f, ok := findForm(body)
	if !ok || f.csrf == "" {
		return nil, fmt.Errorf("authorize: no sign-in form at %s (is this the local identity provider?)", resp.Request.URL.Redacted())
	}
	action, err := resp.Request.URL.Parse(f.action)
	if err != nil {
		return nil, fmt.Errorf("sign-in form action %q: %w", f.action, err)
	}
	form := url.Values{"_csrf": {f.csrf}, "username": {cfg.Username}, "password": {cfg.Password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", action.Scheme+"://"+action.Host)
	resp, err = hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	body, err = readPage(resp)
	if err != nil {
		return nil, err
	}
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusFound || loc == nil || !isCallback(loc, callback) {
		return nil, fmt.Errorf("%w: %s", ErrRejected, pageMessage(body))
	}
	if loc.Query().Get("state") != state {
		return nil, errors.New("sign in: the callback's state does not match the request's")
	}
	code := loc.Query().Get("code")
	if code == "" {
		return nil, fmt.Errorf("sign in: redirected to the callback with %s", errorOf(loc.String()))
	}
	return exchange(ctx, hc, base.String()+"/oauth2/token", cfg, code, verifier)
}

func exchange(ctx context.Context, hc *http.Client, tokenURL string, cfg Config, code, verifier string) (*Tokens, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {cfg.RedirectURI},
		"code_verifier": {verifier},
	}
	if cfg.ClientSecret == "" {
		form.Set("client_id", cfg.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(raw, &e)
		return nil, fmt.Errorf("token: %s: %s", resp.Status, e.Error)
	}
	t := &Tokens{Raw: raw}
	if err := json.Unmarshal(raw, t); err != nil {
		return nil, fmt.Errorf("token: decode response: %w", err)
	}
	return t, nil
}

func get(ctx context.Context, hc *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	return resp, nil
}

func readPage(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", resp.Request.URL.Path, err)
	}
	return b, nil
}

func isCallback(u, callback *url.URL) bool {
	return u.Scheme == callback.Scheme && u.Host == callback.Host && u.Path == callback.Path
}

func errorOf(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.Query().Get("error") == "" {
		return "no code"
	}
	return "error " + u.Query().Get("error")
}

// form is the parts of the sign-in form that matter.
type form struct{ action, csrf string }

// findForm returns the first POST form in the page and its CSRF token.
func findForm(page []byte) (form, bool) {
	var f form
	found := false
	z := html.NewTokenizer(strings.NewReader(string(page)))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return f, found
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			switch {
			case t.Data == "form" && !found && strings.EqualFold(attr(t, "method"), "post"):
				f.action, found = attr(t, "action"), true
			case t.Data == "input" && found && attr(t, "name") == "_csrf" && f.csrf == "":
				f.csrf = attr(t, "value")
			}
		}
	}
}

// pageMessage is the alert text on a Hosted UI page (why a sign-in failed),
// or the page's title.
func pageMessage(page []byte) string {
	z := html.NewTokenizer(strings.NewReader(string(page)))
	var title string
	depth, inTitle := 0, false
	var msg strings.Builder
	for {
		switch z.Next() {
		case html.ErrorToken:
			if s := strings.Join(strings.Fields(msg.String()), " "); s != "" {
				return s
			}
			if title != "" {
				return title
			}
			return "unexpected page"
		case html.StartTagToken:
			t := z.Token()
			if depth > 0 {
				depth++
			} else if attr(t, "role") == "alert" {
				depth = 1
			}
			inTitle = t.Data == "title"
		case html.EndTagToken:
			if depth > 0 {
				depth--
				msg.WriteByte(' ')
			}
			inTitle = false
		case html.TextToken:
			if depth > 0 {
				msg.Write(z.Text())
			} else if inTitle {
				title = strings.TrimSpace(string(z.Text()))
			}
		}
	}
}

func attr(t html.Token, name string) string {
	for _, a := range t.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
