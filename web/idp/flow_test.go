package idp

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestFullFlow drives the whole life of an account through a relying party
// written as applications write them: sign up, read the outbox, confirm,
// sign in, code, tokens, verified ID token, userInfo, refresh, revoke,
// logout.
func TestFullFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := newBrowser(t)
	const email = "Ana@Example.com"

	e.signUpAndConfirm(b, email)

	// Sign in through the relying party.
	login := b.get(e.rp.url + "/start")
	if login.status != http.StatusOK || login.url.Path != "/login" {
		t.Fatalf("start: landed on %s with %d", login.url, login.status)
	}
	csp := login.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self' "+e.rp.url) {
		t.Errorf("login page CSP = %q: want default-src 'none' and the callback origin in form-action", csp)
	}
	done := b.submit(login, url.Values{"username": {email}, "password": {testPassword}})
	if done.status != http.StatusOK || !strings.HasPrefix(done.body, "signed in as") {
		t.Fatalf("callback: status %d: %s", done.status, done.body)
	}
	res := e.rp.last()

	// ID token: verified by go-oidc (signature, iss, aud, exp), nonce and
	// at_hash checked by the relying party; Cognito's claims present.
	id := res.claims
	sub := res.idToken.Subject
	wantID := map[string]any{
		"token_use": "id", "aud": "portal", "iss": e.srv.Issuer(), "cognito:username": sub,
		"email": "ana@example.com", "email_verified": true,
	}
	for k, v := range wantID {
		if id[k] != v {
			t.Errorf("ID token %s = %v, want %v", k, id[k], v)
		}
	}
	for _, k := range []string{"auth_time", "exp", "iat", "jti", "origin_jti", "event_id", "nonce", "at_hash"} {
		if id[k] == nil {
			t.Errorf("ID token lacks %s", k)
		}
	}
	if _, ok := id["cognito:groups"]; ok {
		t.Error("ID token of a user in no group has cognito:groups")
	}
	if got := time.Unix(int64(id["exp"].(float64)), 0).Sub(time.Unix(int64(id["iat"].(float64)), 0)); got != 30*time.Minute {
		t.Errorf("ID token lifetime %v, want the client's 30 minutes", got)
	}

	// Access token: Cognito's shape (no aud, client_id, scope), signed by a
	// different key that the JWKS also publishes.
	at := claimsOf(t, res.token.AccessToken)
	wantAT := map[string]any{
		"token_use": "access", "client_id": "portal", "iss": e.srv.Issuer(), "username": sub, "sub": sub,
		"scope": "openid email", "origin_jti": id["origin_jti"], "event_id": id["event_id"], "auth_time": id["auth_time"],
	}
	for k, v := range wantAT {
		if at[k] != v {
			t.Errorf("access token %s = %v, want %v", k, at[k], v)
		}
	}
	if _, ok := at["aud"]; ok {
		t.Error("access token has aud; Cognito's have none")
	}
	atVerifier := e.rp.provider.Verifier(&oidc.Config{SkipClientIDCheck: true})
	if _, err := atVerifier.Verify(ctx, res.token.AccessToken); err != nil {
		t.Errorf("access token does not verify against the JWKS: %v", err)
	}
	if kidOf(t, res.rawID) == kidOf(t, res.token.AccessToken) {
		t.Error("ID and access tokens signed with the same key")
	}
	if got := time.Until(res.token.Expiry).Round(time.Minute); got != 15*time.Minute {
		t.Errorf("expires_in gives %v, want 15m", got)
	}

	// userInfo, as go-oidc reads it (Cognito sends email_verified as a string).
	if res.userInfo.Subject != sub || res.userInfo.Email != "ana@example.com" || !res.userInfo.EmailVerified {
		t.Errorf("userInfo = %+v", res.userInfo)
	}

	// A live provider session: authorize returns straight to the client.
	b.follow = false
	again := b.get(e.rp.oauth.AuthCodeURL("x", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if loc := again.header.Get("Location"); again.status != http.StatusFound || !strings.HasPrefix(loc, e.rp.oauth.RedirectURL+"?") || !strings.Contains(loc, "code=") {
		t.Fatalf("authorize with a session: %d to %q, want a code for the callback", again.status, loc)
	}
	b.follow = true

	// Refresh: new tokens from the same sign-in, no new refresh token.
	stale := *res.token
	stale.Expiry = time.Now().Add(-time.Minute)
	fresh, err := e.rp.oauth.TokenSource(ctx, &stale).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == res.token.AccessToken {
		t.Fatal("refresh returned the same access token")
	}
	rawID, _ := fresh.Extra("id_token").(string)
	refreshed, err := e.rp.verifier.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	var rc map[string]any
	refreshed.Claims(&rc)
	if rc["origin_jti"] != id["origin_jti"] || rc["event_id"] != id["event_id"] || rc["auth_time"] != id["auth_time"] || rc["jti"] == id["jti"] {
		t.Errorf("refreshed ID token claims %v do not continue the sign-in %v", rc, id)
	}
	if fresh.RefreshToken != res.token.RefreshToken {
		t.Error("refresh rotated the refresh token; Cognito keeps it")
	}

	// Revoke: the refresh token and the access tokens minted with it die.
	status, hdr, _ := e.post("/oauth2/revoke", url.Values{"token": {res.token.RefreshToken}}, &[2]string{"portal", secret})
	if status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	if hdr.Get("Cache-Control") != "no-store" {
		t.Error("revoke response may be cached")
	}
	if _, err := e.rp.oauth.TokenSource(ctx, &stale).Token(); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("refresh after revoke: %v, want invalid_grant", err)
	}
	if _, err := e.rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Fatal("userInfo accepted an access token whose refresh token was revoked")
	}

	// Logout ends the provider session and returns to the registered URI.
	out := b.get(e.idp.URL + "/logout?" + url.Values{"client_id": {"portal"}, "logout_uri": {e.rp.url + "/"}}.Encode())
	if out.status != http.StatusOK || out.url.String() != e.rp.url+"/" {
		t.Fatalf("logout landed on %s (%d)", out.url, out.status)
	}
	if p := b.get(e.rp.url + "/start"); p.url.Path != "/login" {
		t.Fatalf("after logout, authorize went to %s, want the sign-in page", p.url)
	}
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	h, err := b64.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// TestAdminSeeded checks the seeded admin signs in with the configured
// password and carries the admins group in both tokens.
func TestAdminSeeded(t *testing.T) {
	e := newEnv(t)
	p := newPKCE()
	b := newBrowser(t)
	login := b.get(e.authorizeURL(e.public, p, nil))
	b.follow = false
	resp := b.submit(login, url.Values{"username": {adminEmail}, "password": {adminPass}})
	loc, _ := url.Parse(resp.header.Get("Location"))
	status, tok := e.exchange(e.public, loc.Query().Get("code"), p)
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, tok)
	}
	for _, name := range []string{"id_token", "access_token"} {
		groups, _ := claimsOf(t, tok[name].(string))["cognito:groups"].([]any)
		if !slices.Contains(groups, any("admins")) {
			t.Errorf("%s cognito:groups = %v, want admins", name, groups)
		}
	}
	if _, ok := tok["refresh_token"]; !ok {
		t.Error("no refresh token")
	}
	if tok["token_type"] != "Bearer" {
		t.Errorf("token_type %v", tok["token_type"])
	}
}

// TestKeyRotation checks tokens signed before a rotation still verify.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	e.signUpAndConfirm(b, "rot@example.com")
	p := newPKCE()
	_, before := e.exchange(e.public, e.code(e.public, "rot@example.com", p), p)
	if err := e.srv.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	p = newPKCE()
	_, after := e.exchange(e.public, e.code(e.public, "rot@example.com", p), p)
	if kidOf(t, before["id_token"].(string)) == kidOf(t, after["id_token"].(string)) {
		t.Fatal("rotation did not change the signing key")
	}
	// A fresh relying party (no cached keys) verifies both.
	p2, err := oidc.NewProvider(context.Background(), e.srv.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	v := p2.Verifier(&oidc.Config{ClientID: "spa"})
	for _, tok := range []map[string]any{before, after} {
		if _, err := v.Verify(context.Background(), tok["id_token"].(string)); err != nil {
			t.Errorf("verify after rotation: %v", err)
		}
	}
}
