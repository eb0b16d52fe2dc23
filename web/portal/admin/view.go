package admin

import (
	"fmt"
	"net/http"
	"time"

	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/portal/pages"
)

// SearchView is the Accounts page: the search forms and a page of results.
type SearchView struct {
	// Email is the prefix as typed; ID the username or sub as typed.
	Email, ID string
	// Searched is true when an email prefix was given.
	Searched bool
	Accounts []accounts.Account
	// Next and Prev are the neighbouring pages' URLs, "" for none.
	Next, Prev string
	// Error is a problem to show above the results.
	Error string
}

// AccountView is an account's page.
type AccountView struct {
	Account accounts.Account
	// Self is true when the account is the viewer's own.
	Self bool
	// ItemsURL lists the user items the account created; "" hides it.
	ItemsURL string
	// Actions are the buttons the account's state offers.
	Actions []action
	// Error is a refusal to show above the actions.
	Error string
}

// ConfirmView is the confirmation step of an action.
type ConfirmView struct {
	Account accounts.Account
	Action  action
}

// InviteView is the Invite user form, as entered.
type InviteView struct {
	Email string
	Admin bool
	// Error is the problem with the input.
	Error string
	// Existing links to the account that has the email already.
	Existing string
}

func pages400(msg string) pages.Error {
	return pages.Error{Status: http.StatusBadRequest, Title: "That request was refused", Message: msg}
}

func when(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func enabledText(a accounts.Account) string {
	if a.Enabled {
		return "enabled"
	}
	return "disabled"
}

func actionURL(a accounts.Account, act action) string {
	return AccountURL(a.Username) + "/" + act.Name
}

func question(c ConfirmView) string { return fmt.Sprintf(c.Action.Question, displayName(c.Account)) }

func shown(v AccountView, act action) bool { return !(v.Self && act.NotSelf != "") }
