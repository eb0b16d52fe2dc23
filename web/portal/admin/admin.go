// Package admin serves the portal's account administration screens, for
// members of the admins group: search the pool's accounts, open one, invite
// a person, and disable, enable, grant or revoke admins, reset a password
// or sign an account out everywhere.
//
// The screens call Cognito through package accounts with the portal's own
// AWS credentials, never with the signed-in user's token; so before any
// call they check, on every request, that the verified token puts the user
// in admins, and before any change they ask Cognito again, since a token's
// groups are as old as the token. Every change is a POST form answered
// first by a confirmation page (its "Confirm" button posts again) and
// writes one audit line: who (sub), what, whom, result.
//
// Routes, all under Prefix:
//
//	GET  /admin/accounts                       search: ?email=PREFIX, pages ?page=TOKEN&back=TOKEN...
//	GET  /admin/accounts/find?id=ID            username or sub → 303 to the account's page
//	GET  /admin/accounts/invite                the Invite user form
//	POST /admin/accounts/invite                invite (email, admin=yes)
//	GET  /admin/accounts/user/{username}       an account's page
//	POST /admin/accounts/user/{username}/{action}  disable, enable, grant, revoke,
//	                                           reset-password, sign-out; confirm=yes acts
//
// The handler refuses cross-origin posts itself (http.CrossOriginProtection),
// whatever the portal wraps it in, and answers with Cache-Control: no-store.
package admin

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/a-h/templ"

	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/portal/pages"
	"github.com/usersvc/usersvc/web/requestlog"
)

// Prefix is the path under which the screens live; the portal routes
// Prefix and everything under it to the Handler.
const Prefix = "/admin/accounts"

// Section is the navigation section of the screens, for pages.Layout.
const Section = "accounts"

// Accounts is what the screens ask of the pool; *accounts.Service
// provides it.
type Accounts interface {
	Search(ctx context.Context, q accounts.Query, limit int, token string) (accounts.Page, error)
	Get(ctx context.Context, username string) (accounts.Account, error)
	Lookup(ctx context.Context, id string) (accounts.Account, error)
	Invite(ctx context.Context, email string, admin bool) (accounts.Account, error)
	Disable(ctx context.Context, username string) error
	Enable(ctx context.Context, username string) error
	AddToGroup(ctx context.Context, username, group string) error
	RemoveFromGroup(ctx context.Context, username, group string) error
	ResetPassword(ctx context.Context, username string) error
	SignOutEverywhere(ctx context.Context, username string) error
	IsAdmin(ctx context.Context, id string) (bool, error)
}

var _ Accounts = (*accounts.Service)(nil)

// Portal is what the screens need from the portal around them.
type Portal interface {
	// Visit returns the signed-in visitor of r. When nobody is signed in,
	// or the sign-in cannot be renewed, it answers r itself (a redirect to
	// sign in, an error page) and returns false.
	Visit(w http.ResponseWriter, r *http.Request) (Visit, bool)
	// RequestID returns the id the portal gave r on arrival, the one its
	// log lines carry.
	RequestID(ctx context.Context) string
}

// Visit is one request of a signed-in person.
type Visit interface {
	// Viewer is who the verified token says the person is.
	Viewer() Viewer
	// Layout returns the page frame for this request, with title as its
	// title; it takes the flash message, which then is gone.
	Layout(title string) pages.Layout
	// Flash leaves msg for the next page this browser shows.
	Flash(msg string)
}

// Viewer is the signed-in person, from the verified token.
type Viewer struct {
	// Subject is the token's sub.
	Subject string
	// Username is the token's cognito:username.
	Username string
	// Groups are the token's cognito:groups.
	Groups []string
}

// Config is what New needs.
type Config struct {
	// Accounts is the pool.
	Accounts Accounts
	// Portal is the portal the screens are part of.
	Portal Portal
	// Log receives the audit lines and failures; nil discards them.
	Log *slog.Logger
	// ItemsURL, when set, is the address of the user-service items an
	// account (by its sub) created; the account's page links to it.
	ItemsURL func(sub string) string
}

type server struct {
	svc      Accounts
	portal   Portal
	log      *slog.Logger
	itemsURL func(string) string
}

// New returns the handler of every route under Prefix.
func New(c Config) http.Handler {
	s := &server{svc: c.Accounts, portal: c.Portal, log: c.Log, itemsURL: c.ItemsURL}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Prefix+"", s.admins(s.handleSearch))
	mux.Handle("GET "+Prefix+"/find", s.admins(s.handleFind))
	mux.Handle("GET "+Prefix+"/invite", s.admins(s.handleInviteForm))
	mux.Handle("POST "+Prefix+"/invite", s.admins(s.handleInvite))
	mux.Handle("GET "+Prefix+"/user/{username}", s.admins(s.handleAccount))
	mux.Handle("POST "+Prefix+"/user/{username}/{action}", s.admins(s.handleAction))
	mux.Handle(Prefix+"/", s.admins(s.handleNotFound))

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.handleCrossOrigin))
	return noStore(csrf.Handler(mux))
}

func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// page is a request that passed the admin check.
type page struct {
	w     http.ResponseWriter
	r     *http.Request
	visit Visit
	who   Viewer
}

// admins lets through only people whose verified token puts them in
// accounts.AdminGroup; everyone else gets 403 before Cognito is called.
func (s *server) admins(h func(*page)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := s.portal.Visit(w, r)
		if !ok {
			return
		}
		p := &page{w: w, r: r, visit: v, who: v.Viewer()}
		if !slices.Contains(p.who.Groups, accounts.AdminGroup) {
			if r.Method == http.MethodPost {
				s.audit(p, r.PathValue("action"), "", "refused: not in admins")
			}
			s.forbidden(p, "This page is for administrators (members of the admins group). Ask one if you need access.")
			return
		}
		h(p)
	})
}

// render writes c with status, rendering it fully first so that a failure
// can still become an error page.
func (s *server) render(p *page, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(p.r.Context(), &buf); err != nil {
		s.log.ErrorContext(p.r.Context(), "render page", "request_id", s.portal.RequestID(p.r.Context()), "error", err)
		http.Error(p.w, "Something went wrong. Request id "+s.portal.RequestID(p.r.Context()), http.StatusInternalServerError)
		return
	}
	p.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	p.w.WriteHeader(status)
	p.w.Write(buf.Bytes())
}

func (s *server) layout(p *page, title string) pages.Layout {
	l := p.visit.Layout(title)
	l.Section = Section
	return l
}

func (s *server) errorPage(p *page, e pages.Error) {
	e.RequestID = s.portal.RequestID(p.r.Context())
	s.render(p, e.Status, pages.ErrorPage(s.layout(p, e.Title), e))
}

func (s *server) forbidden(p *page, msg string) {
	s.errorPage(p, pages.Error{Status: http.StatusForbidden, Title: "Not for you, sorry", Message: msg})
}

func (s *server) handleNotFound(p *page) {
	s.errorPage(p, pages.Error{Status: http.StatusNotFound, Title: "Page not found", Message: "There is no page at this address."})
}

func (s *server) handleCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.log.WarnContext(r.Context(), "cross-origin form post refused", "request_id", s.portal.RequestID(r.Context()), "path", requestlog.Clip(r.URL.Path))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	w.Write([]byte("This form was sent from another site, so the portal did not act on it. Use the portal's own pages.\n"))
}

// fail is the one place where the pool's failures become pages.
func (s *server) fail(p *page, err error) {
	ctx := p.r.Context()
	s.log.WarnContext(ctx, "cognito call failed", "request_id", s.portal.RequestID(ctx), "cognito_request_id", accounts.RequestID(err), "error", err)
	cognitoID := ""
	if id := accounts.RequestID(err); id != "" {
		cognitoID = " Cognito's request id: " + id + "."
	}
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		s.errorPage(p, pages.Error{
			Status:  http.StatusNotFound,
			Title:   "Account not found",
			Message: "There is no such account; it may have been deleted since it was listed. Nothing was changed.",
		})
	case errors.Is(err, accounts.ErrUnavailable):
		p.w.Header().Set("Retry-After", "5")
		s.errorPage(p, pages.Error{
			Status:  http.StatusServiceUnavailable,
			Title:   "Accounts are unavailable",
			Message: "Cognito is busy or not answering right now. Nothing was changed; try again in a moment." + cognitoID,
		})
	case errors.Is(err, accounts.ErrInvalid), errors.Is(err, accounts.ErrRefused):
		s.errorPage(p, pages.Error{
			Status:  http.StatusConflict,
			Title:   "Cognito refused",
			Message: accounts.Message(err) + cognitoID,
		})
	default:
		s.errorPage(p, pages.Error{
			Status:  http.StatusInternalServerError,
			Title:   "Something went wrong",
			Message: "The portal could not reach the accounts. If it keeps happening, quote the request ids." + cognitoID,
		})
	}
}

// audit writes the one line an action leaves: who, what, whom, result.
func (s *server) audit(p *page, action, whom, result string, attrs ...any) {
	ctx := p.r.Context()
	args := append([]any{
		"request_id", s.portal.RequestID(ctx),
		"who", p.who.Subject,
		"what", action,
		"whom", whom,
		"result", result,
	}, attrs...)
	level := slog.LevelInfo
	if result != "ok" {
		level = slog.LevelWarn
	}
	s.log.Log(ctx, level, "account audit", args...)
}

// AccountURL is the address of the account page of username.
func AccountURL(username string) string {
	return Prefix + "/user/" + url.PathEscape(username)
}

// FindURL is the address that opens the account whose username or sub is
// id: what the Look up page links an item's CreatedBy to.
func FindURL(id string) string {
	return Prefix + "/find?" + url.Values{"id": {id}}.Encode()
}

// SearchURL is the Accounts page for an email prefix ("" for everyone).
func SearchURL(email string) string {
	return searchURL(email, "", nil)
}

func searchURL(email, token string, back []string) string {
	v := url.Values{}
	if email != "" {
		v.Set("email", email)
	}
	if token != "" {
		v.Set("page", token)
	}
	if len(back) > 0 {
		v["back"] = back
	}
	if len(v) == 0 {
		return Prefix
	}
	return Prefix + "?" + v.Encode()
}

// maxTrail bounds the bytes of pagination tokens a URL carries for the
// Previous link; beyond it the oldest are dropped, and Previous from the
// oldest page kept leads to the first page.
const maxTrail = 2048

func trimTrail(back []string) []string {
	n := 0
	for i := len(back) - 1; i >= 0; i-- {
		n += len(back[i]) + len("&back=")
		if n > maxTrail {
			return back[i+1:]
		}
	}
	return back
}

func cleanEmail(s string) string { return strings.TrimSpace(s) }
