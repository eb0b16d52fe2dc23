package idp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/usersvc/usersvc/web/idp/keys"
	"github.com/usersvc/usersvc/web/idp/users"
)

// maxFormBytes bounds the body of a token or revocation request.
const maxFormBytes = 16 << 10

// oauthError is an RFC 6749 section 5.2 error response.
type oauthError struct {
	status int
	code   string
}

var (
	errInvalidRequest       = &oauthError{http.StatusBadRequest, "invalid_request"}
	errInvalidClient        = &oauthError{http.StatusUnauthorized, "invalid_client"}
	errInvalidGrant         = &oauthError{http.StatusBadRequest, "invalid_grant"}
	errUnauthorizedClient   = &oauthError{http.StatusBadRequest, "unauthorized_client"}
	errUnsupportedGrantType = &oauthError{http.StatusBadRequest, "unsupported_grant_type"}
	errMethodNotAllowed     = &oauthError{http.StatusMethodNotAllowed, "invalid_request"}
)

// writeOAuthError is the token and revocation endpoints' one error funnel.
func (s *Server) writeOAuthError(w http.ResponseWriter, e *oauthError) {
	h := w.Header()
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="`+s.issuer+`"`)
	}
	if e.status == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodPost)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// tokenRequest is a parsed token or revocation request.
type tokenRequest struct {
	grantType    string
	code         string
	redirectURI  string
	codeVerifier string
	refreshToken string
	token        string // revocation
	clientID     string
	clientSecret string
	basic        bool // the client authenticated with HTTP Basic
	// rawID and rawSecret are the Basic credentials as sent, before
	// form-decoding (see parseTokenRequest).
	rawID, rawSecret string
}

// parseTokenRequest reads a token or revocation request: a POST with an
// application/x-www-form-urlencoded body of at most maxFormBytes, every
// parameter at most once (RFC 6749 section 3.2), and the client identified
// by HTTP Basic or form parameters but not both (section 2.3).
func parseTokenRequest(w http.ResponseWriter, r *http.Request) (tokenRequest, *oauthError) {
	var tr tokenRequest
	if r.Method != http.MethodPost {
		return tr, errMethodNotAllowed
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return tr, errInvalidRequest
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return tr, errInvalidRequest
	}
	f := r.PostForm
	for _, v := range f {
		if len(v) > 1 {
			return tr, errInvalidRequest
		}
	}
	tr.grantType = f.Get("grant_type")
	tr.code = f.Get("code")
	tr.redirectURI = f.Get("redirect_uri")
	tr.codeVerifier = f.Get("code_verifier")
	tr.refreshToken = f.Get("refresh_token")
	tr.token = f.Get("token")
	tr.clientID = f.Get("client_id")
	tr.clientSecret = f.Get("client_secret")
	if _, ok := r.Header["Authorization"]; ok {
		rawID, rawSecret, ok := r.BasicAuth()
		if !ok {
			return tr, errInvalidClient
		}
		// RFC 6749 section 2.3.1 has the client form-encode its id and
		// secret before Basic encoding, and x/oauth2 does; curl -u and many
		// other clients do not. Both forms are kept: the decoded one (the
		// raw one when it does not decode) and the raw one, and
		// authenticateClient accepts either.
		id, secret := formDecode(rawID), formDecode(rawSecret)
		if tr.clientSecret != "" || (tr.clientID != "" && tr.clientID != id && tr.clientID != rawID) {
			return tr, errInvalidRequest
		}
		tr.clientID, tr.clientSecret, tr.basic = id, secret, true
		tr.rawID, tr.rawSecret = rawID, rawSecret
	}
	if tr.clientID == "" {
		return tr, errInvalidClient
	}
	return tr, nil
}

// formDecode undoes application/x-www-form-urlencoded encoding, or returns
// v as it is when it is not validly encoded.
func formDecode(v string) string {
	if d, err := url.QueryUnescape(v); err == nil {
		return d
	}
	return v
}

// authenticateClient checks the client's credentials: a confidential client
// must present its secret, a public one must present none. Basic
// credentials match in their form-decoded or their raw form.
func (s *Server) authenticateClient(tr tokenRequest) (*client, *oauthError) {
	c, ok := s.client(tr.clientID)
	if !ok && tr.basic {
		c, ok = s.client(tr.rawID)
	}
	if !ok {
		return nil, errInvalidClient
	}
	if c.Public() {
		if tr.clientSecret != "" {
			return nil, errInvalidClient
		}
		return c, nil
	}
	if tr.clientSecret == "" {
		return nil, errInvalidClient
	}
	// Both forms are always compared, and digests are compared rather than
	// the secrets, so the time depends on neither which form matched nor
	// the secret's length.
	want := sha256.Sum256([]byte(c.ClientSecret))
	decoded := sha256.Sum256([]byte(tr.clientSecret))
	match := subtle.ConstantTimeCompare(decoded[:], want[:])
	if tr.basic {
		raw := sha256.Sum256([]byte(tr.rawSecret))
		match |= subtle.ConstantTimeCompare(raw[:], want[:])
	}
	if match != 1 {
		return nil, errInvalidClient
	}
	return c, nil
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	IDToken      string `json:"id_token,omitempty"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

// token is POST /oauth2/token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	tr, e := parseTokenRequest(w, r)
	if e != nil {
		s.writeOAuthError(w, e)
		return
	}
	c, e := s.authenticateClient(tr)
	if e != nil {
		s.writeOAuthError(w, e)
		return
	}
	var resp tokenResponse
	switch tr.grantType {
	case "authorization_code":
		resp, e = s.exchangeCode(r, c, tr)
	case "refresh_token":
		resp, e = s.refresh(r, c, tr)
	case "":
		e = errInvalidRequest
	default:
		e = errUnsupportedGrantType
	}
	if e != nil {
		s.writeOAuthError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// exchangeCode redeems an authorization code. A code works once, and only
// for the client, redirect URI and PKCE verifier it was issued for. A
// request that fails those checks leaves the code alone, so the client can
// retry after fixing its request. A request that passes them for a code
// already redeemed is a replay: one of the two presenters is not the client
// (both hold the verifier), so every token the code was exchanged for is
// revoked (RFC 6749 section 4.1.2). Checking and marking happen under one
// lock: of concurrent exchanges of a code exactly one succeeds.
func (s *Server) exchangeCode(r *http.Request, c *client, tr tokenRequest) (tokenResponse, *oauthError) {
	if tr.code == "" || tr.redirectURI == "" {
		return tokenResponse{}, errInvalidRequest
	}
	now := s.now()
	s.mu.Lock()
	g, ok := s.grants[key(tr.code)]
	if !ok || !now.Before(g.expires) ||
		g.clientID != c.ClientId || g.redirectURI != tr.redirectURI || !pkceMatches(tr.codeVerifier, g.challenge) {
		s.mu.Unlock()
		return tokenResponse{}, errInvalidGrant
	}
	first := !g.used
	if first {
		// The family is named before any token exists, so a replay
		// racing this exchange still revokes what it mints.
		g.used = true
		g.originJTI = newUUID()
		g.refreshExpiry = now.Add(c.ttl.refresh)
	}
	snap := *g
	s.mu.Unlock()
	if !first {
		if err := s.users.RevokeFamily(r.Context(), snap.originJTI, snap.refreshExpiry); err != nil {
			s.log.ErrorContext(r.Context(), "revoke tokens of a replayed code", "error", err)
		}
		s.log.WarnContext(r.Context(), "authorization code replayed; its tokens are revoked", "client_id", c.ClientId)
		return tokenResponse{}, errInvalidGrant
	}
	u, err := s.users.Get(r.Context(), snap.sub)
	if err != nil || !u.Active() {
		return tokenResponse{}, errInvalidGrant
	}
	resp, err := s.mint(c, u, snap.scope, snap.nonce, snap.authTime, snap.eventID, snap.originJTI, now)
	if err != nil {
		s.log.ErrorContext(r.Context(), "mint tokens", "error", err)
		return tokenResponse{}, &oauthError{http.StatusInternalServerError, "server_error"}
	}
	refresh := newSecret()
	err = s.users.SaveRefresh(r.Context(), refresh, users.Refresh{
		Sub: u.Sub, ClientID: c.ClientId, Scope: snap.scope, AuthTime: snap.authTime,
		OriginJTI: snap.originJTI, EventID: snap.eventID, Expires: snap.refreshExpiry,
	})
	if err != nil {
		s.log.ErrorContext(r.Context(), "save refresh token", "error", err)
		return tokenResponse{}, &oauthError{http.StatusInternalServerError, "server_error"}
	}
	resp.RefreshToken = refresh
	return resp, nil
}

// pkceMatches reports whether verifier is an RFC 7636 code verifier (43 to
// 128 unreserved characters) whose S256 transform is challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, r := range verifier {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	h := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(b64.EncodeToString(h[:])), []byte(challenge)) == 1
}

// refresh is the refresh_token grant: new ID and access tokens from the same
// sign-in (same auth_time, event_id, origin_jti), and no new refresh token,
// as Cognito does without rotation.
func (s *Server) refresh(r *http.Request, c *client, tr tokenRequest) (tokenResponse, *oauthError) {
	if tr.refreshToken == "" {
		return tokenResponse{}, errInvalidRequest
	}
	ref, err := s.users.LookupRefresh(r.Context(), tr.refreshToken)
	if errors.Is(err, users.ErrBadCode) {
		return tokenResponse{}, errInvalidGrant
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "look up refresh token", "error", err)
		return tokenResponse{}, &oauthError{http.StatusInternalServerError, "server_error"}
	}
	if ref.ClientID != c.ClientId {
		return tokenResponse{}, errInvalidGrant
	}
	u, err := s.users.Get(r.Context(), ref.Sub)
	if err != nil || !u.Active() {
		return tokenResponse{}, errInvalidGrant
	}
	resp, err := s.mint(c, u, ref.Scope, "", ref.AuthTime, ref.EventID, ref.OriginJTI, s.now())
	if err != nil {
		s.log.ErrorContext(r.Context(), "mint tokens", "error", err)
		return tokenResponse{}, &oauthError{http.StatusInternalServerError, "server_error"}
	}
	return resp, nil
}

// mint signs an access token and, when the scope has openid, an ID token.
func (s *Server) mint(c *client, u users.User, scope, nonce string, authTime time.Time, eventID, originJTI string, now time.Time) (tokenResponse, error) {
	ac, ic := s.claims(c, u, scope, authTime, eventID, originJTI, now)
	access, err := s.sign(keys.UseAccess, ac)
	if err != nil {
		return tokenResponse{}, err
	}
	resp := tokenResponse{AccessToken: access, ExpiresIn: int64(c.ttl.access / time.Second), TokenType: "Bearer"}
	if !hasScope(scope, "openid") && !hasScope(scope, adminScope) {
		return resp, nil
	}
	ic.AtHash, ic.Nonce = atHash(access), nonce
	if resp.IDToken, err = s.sign(keys.UseID, ic); err != nil {
		return tokenResponse{}, err
	}
	return resp, nil
}

// claims are the access and ID token claims of one sign-in, as both the
// token endpoint and the JSON API issue them: the same keys, lifetimes and
// claims, whichever way the user signed in.
func (s *Server) claims(c *client, u users.User, scope string, authTime time.Time, eventID, originJTI string, now time.Time) (accessClaims, idClaims) {
	return accessClaims{
			Sub: u.Sub, Groups: u.Groups, Iss: s.issuer, Version: 2, ClientID: c.ClientId,
			OriginJTI: originJTI, EventID: eventID, TokenUse: "access", Scope: scope,
			AuthTime: authTime.Unix(), Exp: now.Add(c.ttl.access).Unix(), Iat: now.Unix(),
			JTI: newUUID(), Username: u.Sub,
		}, idClaims{
			Sub: u.Sub, Groups: u.Groups, EmailVerified: u.EmailVerified,
			Iss: s.issuer, Username: u.Sub, OriginJTI: originJTI, Aud: c.ClientId,
			EventID: eventID, TokenUse: "id", AuthTime: authTime.Unix(),
			Exp: now.Add(c.ttl.id).Unix(), Iat: now.Unix(), JTI: newUUID(), Email: u.Email,
		}
}

func hasScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if s == want {
			return true
		}
	}
	return false
}

// revoke is POST /oauth2/revoke (RFC 7009): it ends a refresh token and
// every access token minted with it. An unknown token is not an error.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	tr, e := parseTokenRequest(w, r)
	if e != nil {
		s.writeOAuthError(w, e)
		return
	}
	c, e := s.authenticateClient(tr)
	if e != nil {
		s.writeOAuthError(w, e)
		return
	}
	if tr.token == "" {
		s.writeOAuthError(w, errInvalidRequest)
		return
	}
	ref, err := s.users.LookupRefresh(r.Context(), tr.token)
	switch {
	case errors.Is(err, users.ErrBadCode):
		// Unknown, expired or already revoked: nothing left to do.
	case err != nil:
		s.log.ErrorContext(r.Context(), "look up refresh token", "error", err)
		s.writeOAuthError(w, &oauthError{http.StatusInternalServerError, "server_error"})
		return
	case ref.ClientID != c.ClientId:
		s.writeOAuthError(w, errUnauthorizedClient)
		return
	default:
		if err := s.users.RevokeFamily(r.Context(), ref.OriginJTI, ref.Expires); err != nil {
			s.log.ErrorContext(r.Context(), "revoke refresh token", "error", err)
			s.writeOAuthError(w, &oauthError{http.StatusInternalServerError, "server_error"})
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// userInfo is GET or POST /oauth2/userInfo: the signed-in user's attributes
// for a valid access token with the openid scope. email_verified is a
// string, as Cognito sends it.
func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	deny := func() {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "invalid_token", "error_description": "Access token is expired, disabled, or deleted, or the user has globally signed out.",
		})
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
		return
	}
	// The scheme is case-insensitive (RFC 7235 section 2.1).
	scheme, raw, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		deny()
		return
	}
	c, err := s.verifyAccess(strings.TrimSpace(raw), s.now())
	if err != nil || !hasScope(c.Scope, "openid") {
		deny()
		return
	}
	if revoked, err := s.users.Revoked(r.Context(), c.OriginJTI); err != nil || revoked {
		deny()
		return
	}
	u, err := s.users.Get(r.Context(), c.Sub)
	if err != nil {
		deny()
		return
	}
	info := map[string]string{"sub": u.Sub, "username": u.Sub}
	if hasScope(c.Scope, "email") {
		info["email"] = u.Email
		info["email_verified"] = "false"
		if u.EmailVerified {
			info["email_verified"] = "true"
		}
	}
	writeJSON(w, http.StatusOK, info)
}
