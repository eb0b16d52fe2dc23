package idp

import (
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/usersvc/usersvc/web/httpserve"
	"github.com/usersvc/usersvc/web/idp/outbox"
	"github.com/usersvc/usersvc/web/idp/pages"
)

// routes lists every endpoint of the provider.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	wk := "/" + s.poolID + "/.well-known/"
	mux.HandleFunc("GET "+wk+"openid-configuration", s.serveDiscovery)
	mux.HandleFunc("GET "+wk+"jwks.json", s.serveJWKS)

	// OAuth 2.0 endpoints; the token, revocation and userInfo endpoints check
	// their methods themselves, to answer in OAuth's JSON error shape.
	mux.HandleFunc("GET /oauth2/authorize", s.authorize)
	mux.Handle("/oauth2/token", cors(s.token))
	mux.Handle("/oauth2/revoke", cors(s.revoke))
	mux.Handle("/oauth2/userInfo", cors(s.userInfo))
	mux.HandleFunc("GET /logout", s.logout)

	// Hosted UI.
	form := func(h http.HandlerFunc) http.Handler { return s.crossOrigin(h) }
	mux.HandleFunc("GET /login", s.login)
	mux.Handle("POST /login", form(s.loginSubmit))
	mux.HandleFunc("GET /signup", s.signUp)
	mux.Handle("POST /signup", form(s.signUpSubmit))
	mux.HandleFunc("GET /confirmUser", s.confirmLink)
	mux.Handle("POST /confirmUser", form(s.confirmLinkSubmit))
	mux.HandleFunc("GET /forgotPassword", s.forgot)
	mux.Handle("POST /forgotPassword", form(s.forgotSubmit))
	mux.HandleFunc("GET /confirmForgotPassword", s.reset)
	mux.Handle("POST /confirmForgotPassword", form(s.resetSubmit))
	mux.Handle("POST /changePassword", form(s.changePasswordSubmit))
	mux.HandleFunc("GET "+pages.StylesheetPath, s.serveCSS)
	mux.HandleFunc("GET /outbox", s.serveOutbox)
	mux.HandleFunc("GET /{$}", s.index)

	// Cognito's JSON API (AWS JSON 1.1), on the origin as
	// cognito-idp.<region>.amazonaws.com has it.
	mux.HandleFunc("POST /{$}", s.serveAPI)
	mux.HandleFunc("OPTIONS /{$}", s.apiPreflight)
	// Every body the provider takes is a small form or JSON document.
	return s.logged(httpserve.Limit(httpserve.Form, mux))
}

// cors lets browser applications (public clients with PKCE) call an
// endpoint from their own origin. Any origin may: these endpoints read no
// cookies, so a cross-origin caller gains nothing it could not do from a
// server.
func cors(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h(w, r)
	})
}

// discoveryDocument is the OpenID Provider metadata, Cognito's fields plus
// the PKCE and grant types the provider implements.
func (s *Server) discoveryDocument() map[string]any {
	return map[string]any{
		"issuer":                                s.issuer,
		"authorization_endpoint":                s.origin + "/oauth2/authorize",
		"token_endpoint":                        s.origin + "/oauth2/token",
		"userinfo_endpoint":                     s.origin + "/oauth2/userInfo",
		"revocation_endpoint":                   s.origin + "/oauth2/revoke",
		"end_session_endpoint":                  s.origin + "/logout",
		"jwks_uri":                              s.issuer + "/.well-known/jwks.json",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"scopes_supported":                      []string{"openid", "email", "phone", "profile"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported": []string{
			"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "jti", "origin_jti",
			"event_id", "token_use", "cognito:username", "cognito:groups", "email", "email_verified",
		},
	}
}

// Discovery and keys are public, read by every relying party on start and
// on an unknown kid: served from memory, cacheable, readable cross-origin.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(s.discovery)
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Short: after a rotation, new tokens carry a new kid, and a relying
	// party refetches on an unknown kid anyway.
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(s.keys.JWKS())
}

func (s *Server) serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(pages.CSS)
}

// serveOutbox is GET /outbox: the mail the provider sent (development only).
func (s *Server) serveOutbox(w http.ResponseWriter, r *http.Request) {
	if !s.showOutbox || !s.outboxRemote && !fromLoopback(r) {
		http.NotFound(w, r)
		return
	}
	ms, next, err := s.outbox.Page(r.URL.Query().Get("before"), outbox.PageSize)
	if err != nil {
		s.internalError(w, r, "list outbox", err)
		return
	}
	older := ""
	if next != "" {
		older = "/outbox?" + url.Values{"before": {next}}.Encode()
	}
	s.render(w, r, http.StatusOK, pages.OutboxPage(outboxView(ms), older))
}

// fromLoopback reports whether the request came from this machine.
func fromLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

func outboxView(ms []outbox.Message) []pages.OutboxMessage {
	v := make([]pages.OutboxMessage, 0, len(ms))
	for _, m := range ms {
		v = append(v, pages.OutboxMessage{
			ID: m.ID, To: m.To, Subject: m.Subject, Date: m.Date.Format(time.RFC1123), Body: m.Body, Links: m.Links(),
		})
	}
	return v
}

// index is GET /: what this origin is, for a developer who opens it.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	links := []pages.Link{{Text: "OpenID configuration", Href: s.issuer + "/.well-known/openid-configuration"}}
	if s.showOutbox {
		links = append(links, pages.Link{Text: "Outbox", Href: "/outbox"})
	}
	s.message(w, r, http.StatusOK, "Local identity provider",
		"A local twin of an Amazon Cognito user pool. Issuer: "+s.issuer+". Sign in through an application.", links...)
}
