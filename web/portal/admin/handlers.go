package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/usersvc/usersvc/web/accounts"
)

// PageSize is how many accounts a page of the search shows.
const PageSize = 50

func (s *server) handleSearch(p *page) {
	q := p.r.URL.Query()
	v := SearchView{Email: validText(q.Get("email")), ID: validText(q.Get("id"))}
	email := cleanEmail(v.Email)
	token := q.Get("page")
	back := q["back"]
	l := s.layout(p, "Accounts")
	if len(email) > accounts.MaxQueryText {
		v.Error = fmt.Sprintf("Email: at most %d characters.", accounts.MaxQueryText)
		s.render(p, http.StatusBadRequest, SearchPage(l, v))
		return
	}
	res, err := s.svc.Search(p.r.Context(), accounts.Query{By: accounts.ByEmailPrefix, Text: email}, PageSize, token)
	if err != nil {
		if token != "" && errors.Is(err, accounts.ErrInvalid) {
			// A stale or altered token: start again rather than fail.
			v.Error = "That page is no longer available; here is the first."
			res, err = s.svc.Search(p.r.Context(), accounts.Query{By: accounts.ByEmailPrefix, Text: email}, PageSize, "")
			token, back = "", nil
		}
		if err != nil {
			s.fail(p, err)
			return
		}
	}
	v.Accounts = res.Accounts
	v.Searched = email != ""
	if res.Next != "" {
		v.Next = searchURL(email, res.Next, trimTrail(append(back[:len(back):len(back)], token)))
	}
	if token != "" {
		prev := ""
		var rest []string
		if n := len(back); n > 0 {
			prev, rest = back[n-1], back[:n-1]
		}
		v.Prev = searchURL(email, prev, rest)
	}
	s.render(p, http.StatusOK, SearchPage(l, v))
}

func (s *server) handleFind(p *page) {
	id := strings.TrimSpace(validText(p.r.URL.Query().Get("id")))
	v := SearchView{ID: id}
	if id == "" || len(id) > accounts.MaxQueryText {
		v.Error = "Username or sub: give one, of at most 200 characters."
		s.render(p, http.StatusBadRequest, SearchPage(s.layout(p, "Accounts"), v))
		return
	}
	a, err := s.svc.Lookup(p.r.Context(), id)
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		v.Error = "No account has the username or sub " + id + "."
		s.render(p, http.StatusNotFound, SearchPage(s.layout(p, "Accounts"), v))
		return
	case err != nil:
		s.fail(p, err)
		return
	}
	http.Redirect(p.w, p.r, AccountURL(a.Username), http.StatusSeeOther)
}

func (s *server) handleAccount(p *page) {
	a, err := s.svc.Get(p.r.Context(), p.r.PathValue("username"))
	if err != nil {
		s.fail(p, err)
		return
	}
	s.render(p, http.StatusOK, AccountPage(s.layout(p, accountTitle(a)), s.accountView(p, a)))
}

func (s *server) accountView(p *page, a accounts.Account) AccountView {
	v := AccountView{Account: a, Self: a.Sub != "" && a.Sub == p.who.Subject}
	if s.itemsURL != nil && a.Sub != "" {
		v.ItemsURL = s.itemsURL(a.Sub)
	}
	for _, act := range actions {
		if act.offered(a) {
			v.Actions = append(v.Actions, act)
		}
	}
	return v
}

func accountTitle(a accounts.Account) string {
	if a.Email != "" {
		return "Account " + a.Email
	}
	return "Account " + a.Username
}

// maxForm bounds a form body; the forms hold an email and a checkbox.
const maxForm = 16 << 10

func (s *server) parseForm(p *page) bool {
	p.r.Body = http.MaxBytesReader(p.w, p.r.Body, maxForm)
	if err := p.r.ParseForm(); err != nil {
		s.errorPage(p, pages400("The form could not be read. Send it again from the portal's page."))
		return false
	}
	return true
}

// stillAdmin asks Cognito whether the viewer is an enabled member of
// admins now: a change is not made on the strength of a token that may be
// an hour old. It answers the request itself when not.
func (s *server) stillAdmin(p *page, what, whom string) bool {
	id := p.who.Username
	if id == "" {
		id = p.who.Subject
	}
	ok, err := s.svc.IsAdmin(p.r.Context(), id)
	if err != nil {
		s.audit(p, what, whom, "failed", "error", err.Error(), "cognito_request_id", accounts.RequestID(err))
		s.fail(p, err)
		return false
	}
	if !ok {
		s.audit(p, what, whom, "refused: no longer in admins")
		s.forbidden(p, "Cognito says you are no longer an administrator, so nothing was changed. Sign out and in again to see what you may do.")
		return false
	}
	return true
}

func (s *server) handleAction(p *page) {
	act, ok := actionNamed(p.r.PathValue("action"))
	if !ok {
		s.handleNotFound(p)
		return
	}
	if !s.parseForm(p) {
		return
	}
	ctx := p.r.Context()
	a, err := s.svc.Get(ctx, p.r.PathValue("username"))
	if err != nil {
		if p.r.PostForm.Get("confirm") == "yes" {
			s.audit(p, act.Name, p.r.PathValue("username"), result(err), "cognito_request_id", accounts.RequestID(err))
		}
		s.fail(p, err)
		return
	}
	self := a.Sub != "" && a.Sub == p.who.Subject
	if self && act.NotSelf != "" {
		if p.r.PostForm.Get("confirm") == "yes" {
			s.audit(p, act.Name, a.Sub, "refused: own account")
		}
		v := s.accountView(p, a)
		v.Error = act.NotSelf
		s.render(p, http.StatusForbidden, AccountPage(s.layout(p, accountTitle(a)), v))
		return
	}
	if p.r.PostForm.Get("confirm") != "yes" {
		s.render(p, http.StatusOK, ConfirmPage(s.layout(p, act.Button+"?"), ConfirmView{Account: a, Action: act}))
		return
	}
	if !s.stillAdmin(p, act.Name, a.Sub) {
		return
	}
	if err := act.do(ctx, s.svc, a.Username); err != nil {
		s.audit(p, act.Name, a.Sub, result(err), "cognito_request_id", accounts.RequestID(err))
		if errors.Is(err, accounts.ErrRefused) || errors.Is(err, accounts.ErrInvalid) {
			// The account's state does not allow it: say why where the
			// admin pressed the button.
			v := s.accountView(p, a)
			v.Error = "Cognito refused: " + accounts.Message(err)
			s.render(p, http.StatusConflict, AccountPage(s.layout(p, accountTitle(a)), v))
			return
		}
		s.fail(p, err)
		return
	}
	s.audit(p, act.Name, a.Sub, "ok")
	p.visit.Flash(fmt.Sprintf(act.Done, displayName(a)))
	http.Redirect(p.w, p.r, AccountURL(a.Username), http.StatusSeeOther)
}

// result names the outcome of a failed call for the audit line.
func result(err error) string {
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		return "not found"
	case errors.Is(err, accounts.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, accounts.ErrRefused), errors.Is(err, accounts.ErrInvalid), errors.Is(err, accounts.ErrExists):
		return "refused by cognito"
	}
	return "failed"
}

func displayName(a accounts.Account) string {
	if a.Email != "" {
		return a.Email
	}
	return a.Username
}

func (s *server) handleInviteForm(p *page) {
	s.render(p, http.StatusOK, InvitePage(s.layout(p, "Invite user"), InviteView{}))
}

func (s *server) handleInvite(p *page) {
	if !s.parseForm(p) {
		return
	}
	v := InviteView{Email: cleanEmail(validText(p.r.PostForm.Get("email"))), Admin: p.r.PostForm.Get("admin") == "yes"}
	what := "invite"
	if v.Admin {
		what = "invite admin"
	}
	if !s.stillAdmin(p, what, "") {
		return
	}
	a, err := s.svc.Invite(p.r.Context(), v.Email, v.Admin)
	switch {
	case err == nil:
	case a.Username != "":
		// Invited, but the admins group could not be joined: say both.
		s.audit(p, what, a.Sub, "partly: invited, not added to admins", "cognito_request_id", accounts.RequestID(err))
		p.visit.Flash("Invited " + a.Email + ", but could not add them to admins: try Add to admins.")
		http.Redirect(p.w, p.r, AccountURL(a.Username), http.StatusSeeOther)
		return
	case errors.Is(err, accounts.ErrInvalid), errors.Is(err, accounts.ErrExists):
		s.audit(p, what, "", result(err), "cognito_request_id", accounts.RequestID(err))
		status := http.StatusBadRequest
		v.Error = "Email: " + accounts.Message(err)
		if errors.Is(err, accounts.ErrExists) {
			status = http.StatusConflict
			v.Error = "An account with this email exists already."
			v.Existing = SearchURL(v.Email)
		}
		s.render(p, status, InvitePage(s.layout(p, "Invite user"), v))
		return
	default:
		s.audit(p, what, "", result(err), "cognito_request_id", accounts.RequestID(err))
		s.fail(p, err)
		return
	}
	s.audit(p, what, a.Sub, "ok")
	msg := "Invited " + a.Email + ". Cognito mailed them a temporary password; they choose their own at first sign-in."
	if v.Admin {
		msg = "Invited " + a.Email + " as an admin. Cognito mailed them a temporary password; they choose their own at first sign-in."
	}
	p.visit.Flash(msg)
	http.Redirect(p.w, p.r, AccountURL(a.Username), http.StatusSeeOther)
}

// action is one change an admin can make to an account.
type action struct {
	// Name is the path segment and the audit line's what.
	Name string
	// Button is the button's text, on the account's page and (as a
	// question) in the confirmation's title.
	Button string
	// Question and Explain are the confirmation page's words.
	Question, Explain string
	// Done is the flash after success; %s is the account.
	Done string
	// NotSelf, when set, is why an admin may not do this to themselves.
	NotSelf string
	// Danger marks the confirmation of an action that locks someone out.
	Danger bool
	// offered says whether the account's page shows the button.
	offered func(accounts.Account) bool
	do      func(context.Context, Accounts, string) error
}

var actions = []action{
	{
		Name: "disable", Button: "Disable", Danger: true,
		Question: "Disable %s?",
		Explain:  "They will not be able to sign in, and their sign-ins will not be renewed. Their account and items are kept; Enable undoes this.",
		Done:     "Disabled %s.",
		NotSelf:  "You cannot disable your own account. Ask another admin if it must be done.",
		offered:  func(a accounts.Account) bool { return a.Enabled },
		do:       func(ctx context.Context, s Accounts, u string) error { return s.Disable(ctx, u) },
	},
	{
		Name: "enable", Button: "Enable",
		Question: "Enable %s?",
		Explain:  "They will be able to sign in again.",
		Done:     "Enabled %s.",
		offered:  func(a accounts.Account) bool { return !a.Enabled },
		do:       func(ctx context.Context, s Accounts, u string) error { return s.Enable(ctx, u) },
	},
	{
		Name: "grant", Button: "Add to admins",
		Question: "Add %s to admins?",
		Explain:  "They will be able to list every user item and administer every account, this one and yours included, from their next sign-in.",
		Done:     "Added %s to admins.",
		offered:  func(a accounts.Account) bool { return !a.InGroup(accounts.AdminGroup) },
		do: func(ctx context.Context, s Accounts, u string) error {
			return s.AddToGroup(ctx, u, accounts.AdminGroup)
		},
	},
	{
		Name: "revoke", Button: "Remove from admins", Danger: true,
		Question: "Remove %s from admins?",
		Explain:  "They lose the admin pages when their current sign-in is renewed, and cannot change accounts from now on.",
		Done:     "Removed %s from admins.",
		NotSelf:  "You cannot remove yourself from admins. Ask another admin if it must be done.",
		offered:  func(a accounts.Account) bool { return a.InGroup(accounts.AdminGroup) },
		do: func(ctx context.Context, s Accounts, u string) error {
			return s.RemoveFromGroup(ctx, u, accounts.AdminGroup)
		},
	},
	{
		Name: "reset-password", Button: "Reset password", Danger: true,
		Question: "Reset the password of %s?",
		Explain:  "Their password stops working. Cognito mails them a code, and they must set a new password with it at their next sign-in.",
		Done:     "Reset the password of %s; Cognito mailed them a code.",
		offered:  func(a accounts.Account) bool { return true },
		do:       func(ctx context.Context, s Accounts, u string) error { return s.ResetPassword(ctx, u) },
	},
	{
		Name: "sign-out", Button: "Sign out everywhere",
		Question: "Sign %s out everywhere?",
		Explain:  "Their sign-ins in every app and browser stop being renewed, so each ends within the hour its current token lives.",
		Done:     "Signed %s out everywhere.",
		offered:  func(a accounts.Account) bool { return true },
		do:       func(ctx context.Context, s Accounts, u string) error { return s.SignOutEverywhere(ctx, u) },
	},
}

func actionNamed(name string) (action, bool) {
	for _, a := range actions {
		if a.Name == name {
			return a, true
		}
	}
	return action{}, false
}

// validText replaces bytes that are not UTF-8, so that what a page echoes
// back is text; such input matches no account either way.
func validText(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
