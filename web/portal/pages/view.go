// Package pages holds the portal's templ components: one layout and a page
// per screen. Components take plain view values and do no I/O, so handlers
// decide what to show and tests can render any state.
package pages

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"
)

// Layout is what every page's frame needs.
type Layout struct {
	// Title is the page's own title; the site name is appended.
	Title string
	// Section marks the navigation entry of the current page ("home",
	// "create", "lookup", "users", "accounts", "profile").
	Section string
	// User is the signed-in person, or nil.
	User *User
	// Flash is a one-time message from the previous action.
	Flash string
	// CSS is the stylesheet's URL path.
	CSS string
	// Logo is the logo's URL path.
	Logo string
}

// User is the signed-in person as the navigation shows them.
type User struct {
	Email    string
	Username string
	// Admin shows the Users and Accounts entries.
	Admin bool
}

// Display is how the header names the user: the email, else the username.
func (u *User) Display() string {
	if u.Email != "" {
		return u.Email
	}
	return u.Username
}

// Profile is the Profile page: who the verified claims say you are.
type Profile struct {
	Email         string
	EmailVerified bool
	Username      string
	Subject       string
	Groups        []string
	AuthTime      time.Time
	TokenExpiry   time.Time
	SessionEnds   time.Time
}

// CreateForm is the Create user form, as entered.
type CreateForm struct {
	UserID string
	// Attributes is the JSON object typed into the textarea.
	Attributes string
	Rows       []Row
	// Error is the problem to show next to the form: the API's message or
	// the portal's own validation.
	Error string
	// Field names the input the error is about ("UserId", "Attributes",
	// "row-3"), to mark it invalid.
	Field string
}

// Row is one attribute entered as name, type and value.
type Row struct {
	Name, Type, Value string
}

// RowTypes are the types a row's value may be read as.
var RowTypes = []string{"string", "number", "boolean", "null", "json"}

// Lookup is the Look up page: the form, and the item when one was asked for.
type Lookup struct {
	UserID string
	// Asked is true when UserID was submitted.
	Asked bool
	// Item is the user found, nil when none was.
	Item map[string]any
	// Error is a problem with the input, shown next to the form.
	Error string
}

// Users is the admin's Users page: one page of the listing.
type Users struct {
	Users []map[string]any
	// CreatedBy, when not "", is the sub whose items alone are listed.
	CreatedBy string
	// Next and Prev are the URLs of the neighbouring pages, "" when there
	// is none.
	Next, Prev string
}

// Error is an error page.
type Error struct {
	Status    int
	Title     string
	Message   string
	RequestID string
	// SignIn offers a "Sign in" link.
	SignIn bool
}

// Field is one attribute of an item, for rendering in order.
type Field struct {
	Name  string
	Value any
}

// Fields returns m's attributes sorted by name, with UserId first.
func Fields(m map[string]any) []Field {
	fs := make([]Field, 0, len(m))
	for k, v := range m {
		fs = append(fs, Field{k, v})
	}
	slices.SortFunc(fs, func(a, b Field) int {
		switch {
		case a.Name == b.Name:
			return 0
		case a.Name == "UserId":
			return -1
		case b.Name == "UserId":
			return 1
		case a.Name < b.Name:
			return -1
		}
		return 1
	})
	return fs
}

// UserID returns an item's UserId, or "" when it has no string one.
func UserID(m map[string]any) string {
	s, _ := m["UserId"].(string)
	return s
}

// UserURL is the Look up page of the user id.
func UserURL(id string) templ.SafeURL {
	return templ.SafeURL("/user?" + url.Values{"UserId": {id}}.Encode())
}

func numberText(n json.Number) string { return n.String() }

func boolText(b bool) string { return strconv.FormatBool(b) }

func when(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func rowID(i int, field string) string { return "row-" + strconv.Itoa(i) + "-" + field }

func createdAt(m map[string]any) string {
	s, _ := m["CreatedAt"].(string)
	return s
}

func attributeCount(m map[string]any) string {
	return strconv.Itoa(len(m))
}

func createdBy(m map[string]any) string {
	s, _ := m["CreatedBy"].(string)
	return s
}

// AccountURL is the account screens' address of the account whose sub is
// sub (web/portal/admin.FindURL, which this package cannot import).
func AccountURL(sub string) templ.SafeURL {
	return templ.SafeURL("/admin/accounts/find?" + url.Values{"id": {sub}}.Encode())
}
