// Package pages renders the identity provider's Hosted UI: plain HTML forms
// that work without JavaScript, every input labelled, styled by one
// stylesheet from the provider's own origin (so the pages live under a
// Content-Security-Policy without 'unsafe-inline').
//
// Field names follow Cognito's Hosted UI (username, password, code,
// confirmPassword, _csrf), so scripts written against one work on the other
// where the pages agree.
package pages

import _ "embed"

// CSS is the pages' stylesheet, served at StylesheetPath.
//
//go:embed idp.css
var CSS []byte

// StylesheetPath is where the provider serves CSS.
const StylesheetPath = "/idp.css"

// CSRFField is the name of the hidden field that carries the CSRF token.
const CSRFField = "_csrf"

// Link is a labelled hyperlink.
type Link struct {
	Text string
	Href string
}

// Login is the sign-in page's content.
type Login struct {
	Action   string // the form's target, query included
	CSRF     string
	Username string
	Error    string // shown as an alert; empty for none
	Notice   string // shown as a status message; empty for none
	SignUp   string // URL of the sign-up page
	Forgot   string // URL of the forgot-password page
}

// SignUp is the sign-up page's content.
type SignUp struct {
	Action   string
	CSRF     string
	Username string
	Errors   []string
	Login    string
}

// Forgot is the page that asks for the address to send a reset code to.
type Forgot struct {
	Action   string
	CSRF     string
	Username string
	Error    string
	Login    string
}

// Reset is the page that takes the emailed code and a new password.
type Reset struct {
	Action   string
	CSRF     string
	Username string
	Errors   []string
	Notice   string
}

// Message is a page that only tells something, with optional links.
type Message struct {
	Title string
	Text  string
	Links []Link
	Alert bool // the text reports a failure
}

// OutboxMessage is one mail as the outbox page lists it.
type OutboxMessage struct {
	ID      string
	To      string
	Subject string
	Date    string
	Body    string
	Links   []string
}
