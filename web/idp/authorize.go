package idp

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authRequest is a validated authorization request, carried from
// /oauth2/authorize through every Hosted UI page in the query string (as
// Cognito's pages carry it).
type authRequest struct {
	client              *client
	redirectURI         string
	scope               string
	state               string
	nonce               string
	codeChallenge       string
	codeChallengeMethod string
	prompt              string
}

// authParams are the parameters an authorization request may carry.
var authParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt",
}

// authError is why an authorization request failed. When redirect is false
// the client or its redirect URI could not be trusted and the provider
// shows an error page; otherwise the error goes back to the client as
// RFC 6749 section 4.1.2.1 says.
type authError struct {
	redirect bool
	code     string // OAuth error code
	text     string // for the error page
}

// parseAuthRequest validates an authorization request's parameters.
func (s *Server) parseAuthRequest(q url.Values) (authRequest, *authError) {
	var ar authRequest
	for _, p := range authParams {
		if len(q[p]) > 1 && (p == "client_id" || p == "redirect_uri") {
			return ar, &authError{text: "The request names its client or redirect URI more than once."}
		}
	}
	c, ok := s.client(q.Get("client_id"))
	if !ok {
		return ar, &authError{text: "The application that sent you here is not registered with this identity provider (unknown client_id)."}
	}
	ar.client = c
	ar.redirectURI = q.Get("redirect_uri")
	// Exact string comparison, as Cognito and RFC 9700 require: no prefix
	// matching, no normalisation.
	if !slices.Contains(c.CallbackURLs, ar.redirectURI) {
		return ar, &authError{text: "The application asked to return to a URL that is not registered for it (redirect_uri mismatch)."}
	}
	ar.state = q.Get("state")
	for _, p := range authParams {
		if len(q[p]) > 1 {
			return ar, &authError{redirect: true, code: "invalid_request"}
		}
	}
	if q.Get("response_type") != "code" {
		return ar, &authError{redirect: true, code: "unsupported_response_type"}
	}
	if len(c.AllowedOAuthFlows) > 0 && !slices.Contains(c.AllowedOAuthFlows, "code") {
		return ar, &authError{redirect: true, code: "unauthorized_client"}
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 {
		// Cognito grants every allowed scope when none is asked for.
		scopes = c.AllowedOAuthScopes
	}
	for _, sc := range scopes {
		if !slices.Contains(c.AllowedOAuthScopes, sc) {
			return ar, &authError{redirect: true, code: "invalid_scope"}
		}
	}
	ar.scope = strings.Join(scopes, " ")
	ar.nonce = q.Get("nonce")
	// PKCE is required of every client, and only S256: "plain" would hand
	// the verifier to anyone who sees the authorization request.
	ar.codeChallengeMethod = q.Get("code_challenge_method")
	ar.codeChallenge = q.Get("code_challenge")
	if ar.codeChallengeMethod != "S256" || !validChallenge(ar.codeChallenge) {
		return ar, &authError{redirect: true, code: "invalid_request"}
	}
	ar.prompt = q.Get("prompt")
	if ar.prompt != "" && ar.prompt != "login" && ar.prompt != "none" {
		return ar, &authError{redirect: true, code: "invalid_request"}
	}
	if len(ar.state) > 2048 || len(ar.nonce) > 2048 {
		return ar, &authError{redirect: true, code: "invalid_request"}
	}
	return ar, nil
}

// validChallenge reports whether c has the shape of an S256 challenge: 32
// bytes, base64url without padding.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	_, err := b64.DecodeString(c)
	return err == nil
}

// query is the request in the form the Hosted UI pages carry it.
func (ar authRequest) query() url.Values {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {ar.client.ClientId},
		"redirect_uri":          {ar.redirectURI},
		"scope":                 {ar.scope},
		"code_challenge":        {ar.codeChallenge},
		"code_challenge_method": {ar.codeChallengeMethod},
	}
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	if ar.nonce != "" {
		q.Set("nonce", ar.nonce)
	}
	return q
}

// pageURL is a Hosted UI page's URL carrying the request.
func (ar authRequest) pageURL(path string) string {
	return path + "?" + ar.query().Encode()
}

// redirectTo returns the client's redirect URI with params (and the state)
// added to its query.
func (ar authRequest) redirectTo(params url.Values) string {
	u, _ := url.Parse(ar.redirectURI) // registered, so it parses
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// fail answers a failed authorization request: an error page when the
// client is not trusted, a redirect with the error otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, ar authRequest, e *authError) {
	if !e.redirect {
		s.badRequest(w, r, e.text)
		return
	}
	http.Redirect(w, r, ar.redirectTo(url.Values{"error": {e.code}}), http.StatusFound)
}

// authorize is GET /oauth2/authorize: straight back to the client with a
// code when the browser is signed in, to the sign-in page otherwise.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ar, e := s.parseAuthRequest(r.URL.Query())
	if e != nil {
		s.fail(w, r, ar, e)
		return
	}
	if sess, ok := s.sessionFrom(r); ok && ar.prompt != "login" {
		u, err := s.users.Get(r.Context(), sess.sub)
		if err == nil && u.Active() {
			s.redirectWithCode(w, r, ar, sess)
			return
		}
		s.endSession(w, r)
	}
	if ar.prompt == "none" {
		http.Redirect(w, r, ar.redirectTo(url.Values{"error": {"login_required"}}), http.StatusFound)
		return
	}
	http.Redirect(w, r, ar.pageURL("/login"), http.StatusFound)
}

// redirectWithCode issues an authorization code for the signed-in session
// and sends the browser back to the client with it.
func (s *Server) redirectWithCode(w http.ResponseWriter, r *http.Request, ar authRequest, sess session) {
	code := newSecret()
	now := s.now()
	g := &grant{
		clientID: ar.client.ClientId, redirectURI: ar.redirectURI, scope: ar.scope,
		nonce: ar.nonce, challenge: ar.codeChallenge, sub: sess.sub,
		authTime: sess.authTime, eventID: sess.eventID, expires: now.Add(CodeTTL),
	}
	s.mu.Lock()
	err := s.issueGrantLocked(code, g, now)
	s.mu.Unlock()
	if err != nil {
		// RFC 6749 section 4.1.2.1: the client learns to try again later.
		s.log.WarnContext(r.Context(), "authorization code refused", "error", err, "client_id", ar.client.ClientId)
		http.Redirect(w, r, ar.redirectTo(url.Values{"error": {"temporarily_unavailable"}}), http.StatusFound)
		return
	}
	http.Redirect(w, r, ar.redirectTo(url.Values{"code": {code}}), http.StatusFound)
}
