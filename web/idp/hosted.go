package idp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/usersvc/usersvc/web/idp/pages"
	"github.com/usersvc/usersvc/web/idp/users"
)

// Messages shown on the Hosted UI; the ones about credentials and codes are
// deliberately the same whether or not an account exists.
const (
	msgBadCredentials = "Incorrect username or password."
	msgBadCode        = "Invalid code provided, please request a code again."
	msgCheckMail      = "If you can sign up with this address, we have sent a verification link to it. Open the link to confirm your account, then sign in."
	msgNotConfirmed   = "User is not confirmed. Open the verification link we emailed you, or reset your password (\"Forgot your password?\"), which confirms the address too."
	msgTooMany        = "Too many requests from your network. Please try again in a moment."
	msgBusy           = "Too many requests at the moment. Please try again in a moment."
	msgMailLimit      = "Attempt limit exceeded, please try after some time."
)

// setRetryAfter says, in whole seconds (at least one), when to try again.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(d.Round(time.Second), time.Second)/time.Second)))
}

// maxPageForm bounds the body of a Hosted UI form.
const maxPageForm = 16 << 10

// hostedRequest parses the authorization request a Hosted UI page carries
// and, for a POST, its form (checking the CSRF token). It answers the
// request itself and returns false when something is wrong.
func (s *Server) hostedRequest(w http.ResponseWriter, r *http.Request) (authRequest, bool) {
	ar, e := s.parseAuthRequest(r.URL.Query())
	if e != nil {
		s.fail(w, r, ar, e)
		return ar, false
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxPageForm)
		if err := r.ParseForm(); err != nil {
			s.badRequest(w, r, "The form could not be read.")
			return ar, false
		}
		if !s.checkCSRF(r) {
			s.csrfFailed(w, r)
			return ar, false
		}
	}
	return ar, true
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, ar authRequest, status int, v pages.Login) {
	v.Action = ar.pageURL("/login")
	v.CSRF = s.csrfToken(w, r)
	v.SignUp = ar.pageURL("/signup")
	v.Forgot = ar.pageURL("/forgotPassword")
	s.render(w, r, status, pages.LoginPage(v), ar.callbackOrigin())
}

// callbackOrigin is the origin of the client's callback, which a form that
// ends a sign-in redirects to: Chromium applies the page's CSP form-action
// to that redirect too, so such pages must allow it.
func (ar authRequest) callbackOrigin() string {
	cb, _ := url.Parse(ar.redirectURI)
	return cb.Scheme + "://" + cb.Host
}

// login is GET /login: the sign-in form, or straight back to the client
// when the browser is already signed in.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.hostedRequest(w, r)
	if !ok {
		return
	}
	if sess, ok := s.sessionFrom(r); ok && ar.prompt != "login" {
		if u, err := s.users.Get(r.Context(), sess.sub); err == nil && u.Active() {
			s.redirectWithCode(w, r, ar, sess)
			return
		}
	}
	s.loginPage(w, r, ar, http.StatusOK, pages.Login{})
}

// loginSubmit is POST /login: check the password, watching for guessing,
// then sign the browser in and return to the client with a code.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.hostedRequest(w, r)
	if !ok {
		return
	}
	username := r.PostFormValue("username")
	name, client := lockoutKey(username), clientKey(r)
	if ok, wait := s.hashRate.allow(client); !ok {
		setRetryAfter(w, wait)
		s.loginPage(w, r, ar, http.StatusTooManyRequests, pages.Login{Username: username, Error: msgTooMany})
		return
	}
	if ok, until := s.lockout.beginFrom(name, client); !ok {
		s.lockedPage(w, r, ar, username, until)
		return
	}
	u, err := s.users.Authenticate(r.Context(), username, r.PostFormValue("password"))
	if errors.Is(err, users.ErrBusy) {
		s.lockout.undo(name, client)
		setRetryAfter(w, users.HashRetryAfter)
		s.loginPage(w, r, ar, http.StatusServiceUnavailable, pages.Login{Username: username, Error: msgBusy})
		return
	}
	if errors.Is(err, users.ErrBadCredentials) {
		// begin counted this attempt; it may have been the one that locks.
		if locked, until := s.lockout.lockedFrom(name, client); locked {
			s.lockedPage(w, r, ar, username, until)
			return
		}
		s.loginPage(w, r, ar, http.StatusUnauthorized, pages.Login{Username: username, Error: msgBadCredentials})
		return
	}
	if err != nil {
		s.internalError(w, r, "authenticate", err)
		return
	}
	s.lockout.succeedFrom(name, client)
	if s.signInHeld(w, r, ar, u, username) {
		return
	}
	if u.Status != users.Confirmed {
		// Only someone who knows the password gets here, so saying that the
		// account is unconfirmed tells them nothing new. No mail goes out:
		// a sign-in form that mails links would let whoever registered an
		// address first keep sending the owner links to confirm the
		// registrant's password. Signing up again sends a new link.
		s.loginPage(w, r, ar, http.StatusForbidden, pages.Login{Username: username, Error: msgNotConfirmed})
		return
	}
	sess := s.startSession(w, r, u.Sub, s.now())
	s.log.InfoContext(r.Context(), "signed in", "sub", u.Sub, "client_id", ar.client.ClientId)
	s.redirectWithCode(w, r, ar, sess)
}

// lockoutKey is the name failures are counted under: the sign-in name as
// typed, trimmed and lower-cased (what users.NormalizeEmail makes of an
// address), whether or not it is a valid address or has an account. Every
// count and every reset of a count goes through it.
func lockoutKey(username string) string { return strings.ToLower(strings.TrimSpace(username)) }

func (s *Server) lockedPage(w http.ResponseWriter, r *http.Request, ar authRequest, username string, until time.Time) {
	wait := max(until.Sub(s.now()).Round(time.Second), time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
	s.loginPage(w, r, ar, http.StatusTooManyRequests, pages.Login{Username: username,
		Error: fmt.Sprintf("Password attempts exceeded: after %d failed attempts sign-in is locked. Try again in %v.", LockoutThreshold, wait)})
}

// signUp is GET /signup.
func (s *Server) signUp(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.hostedRequest(w, r)
	if !ok {
		return
	}
	s.signUpPage(w, r, ar, http.StatusOK, pages.SignUp{})
}

func (s *Server) signUpPage(w http.ResponseWriter, r *http.Request, ar authRequest, status int, v pages.SignUp) {
	v.Action = ar.pageURL("/signup")
	v.CSRF = s.csrfToken(w, r)
	v.Login = ar.pageURL("/login")
	s.render(w, r, status, pages.SignUpPage(v))
}

// signUpSubmit is POST /signup. Whatever happens to the address (a new
// account, an existing confirmed one, an existing unconfirmed one), the page
// says the same; only the mail differs. An unconfirmed account takes the
// new password (see users.Store.SignUp), so the link mailed now confirms
// what this visitor chose, and no earlier link works any more.
func (s *Server) signUpSubmit(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.hostedRequest(w, r)
	if !ok {
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	email, err := users.NormalizeEmail(username)
	if err != nil {
		s.signUpPage(w, r, ar, http.StatusBadRequest, pages.SignUp{Username: username, Errors: []string{"Invalid email address format."}})
		return
	}
	if problems := users.CheckPassword(password); len(problems) > 0 {
		s.signUpPage(w, r, ar, http.StatusBadRequest, pages.SignUp{Username: username, Errors: problems})
		return
	}
	client := clientKey(r)
	if ok, wait := s.hashRate.allow(client); !ok {
		setRetryAfter(w, wait)
		s.signUpPage(w, r, ar, http.StatusTooManyRequests, pages.SignUp{Username: username, Errors: []string{msgTooMany}})
		return
	}
	if wait, err := s.mail.allow(email, client); err != nil {
		setRetryAfter(w, wait)
		s.signUpPage(w, r, ar, http.StatusTooManyRequests, pages.SignUp{Username: username, Errors: []string{msgMailLimit}})
		return
	}
	wait := s.pace.start(r.Context(), MinSignUpTime)
	u, err := s.users.SignUp(r.Context(), email, password, nil)
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "signed up", "sub", u.Sub, "client_id", ar.client.ClientId)
		s.rememberSignUp(w, r, u)
		err = s.sendConfirmation(r, u, ar.client.ClientId)
	case errors.Is(err, users.ErrExists):
		err = s.sendExists(email, ar)
	case errors.Is(err, users.ErrPending):
		err = s.sendPending(email, ar.pageURL("/forgotPassword"))
	}
	wait()
	if errors.Is(err, users.ErrBusy) {
		setRetryAfter(w, users.HashRetryAfter)
		s.signUpPage(w, r, ar, http.StatusServiceUnavailable, pages.SignUp{Username: username, Errors: []string{msgBusy}})
		return
	}
	if err != nil {
		s.internalError(w, r, "sign up", err)
		return
	}
	s.message(w, r, http.StatusOK, "Check your email", msgCheckMail,
		pages.Link{Text: "Sign in", Href: ar.pageURL("/login")})
}

// sendConfirmation mails a verification link, the way Cognito's
// CONFIRM_WITH_LINK verification message does.
func (s *Server) sendConfirmation(r *http.Request, u users.User, clientID string) error {
	code, err := s.users.NewCode(r.Context(), u.Sub, users.PurposeConfirm)
	if err != nil {
		return err
	}
	link := s.origin + "/confirmUser?" + url.Values{
		"client_id": {clientID}, "user_name": {u.Sub}, "confirmation_code": {code},
	}.Encode()
	_, err = s.outbox.Send(u.Email, "Verify your email address",
		"Please click the link below to verify your email address.\n\n"+link+
			"\n\nThe link works once, for 24 hours. If you did not sign up, ignore this message.\n")
	return err
}

// sendExists tells the owner of a confirmed address that someone tried to
// sign up with it: the page cannot say so without revealing the account.
func (s *Server) sendExists(email string, ar authRequest) error {
	if !s.mail.existsNotice(email) {
		// Told within the day already: a mail per attempt would let anyone
		// flood the owner's mailbox.
		return nil
	}
	_, err := s.outbox.Send(email, "Someone tried to sign up with your address",
		"Someone (perhaps you) tried to create an account with this address, which already has one.\n\n"+
			"To sign in, go to:\n"+s.origin+ar.pageURL("/login")+
			"\n\nIf you forgot your password, use \"Forgot your password?\" on that page.\n")
	return err
}

// confirmUser is GET /confirmUser, the emailed verification link. As in
// Cognito, opening the link confirms the account.
func (s *Server) confirmUser(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var links []pages.Link
	if c, ok := s.client(q.Get("client_id")); ok && len(c.LogoutURLs) > 0 {
		links = append(links, pages.Link{Text: "Continue to the application", Href: c.LogoutURLs[0]})
	}
	sub := q.Get("user_name")
	// One transaction: the code is bound to the password it was mailed
	// for, and nothing may change the password between check and confirm.
	err := s.users.ConfirmWithCode(r.Context(), sub, q.Get("confirmation_code"))
	switch {
	case errors.Is(err, users.ErrBadCode), errors.Is(err, users.ErrNotFound):
		s.message(w, r, http.StatusBadRequest, "Link expired",
			"This verification link is invalid, used, expired or replaced by a newer one. To confirm your address, reset your password (\"Forgot your password?\" on the sign-in page): the code we mail confirms it.", links...)
	case err != nil:
		s.internalError(w, r, "confirm user", err)
	default:
		s.log.InfoContext(r.Context(), "email confirmed", "sub", sub)
		s.message(w, r, http.StatusOK, "Registration confirmed",
			"Your registration has been confirmed. You can now sign in.", links...)
	}
}

// forgot is GET /forgotPassword.
func (s *Server) forgot(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.hostedRequest(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, pages.ForgotPage(pages.Forgot{
		Action: ar.pageURL("/forgotPassword"), CSRF: s.csrfToken(w, r), Login: ar.pageURL("/login"),
	}))
}

// forgotSubmit is POST /forgotPassword: mail a reset code if the account
// exists, and go on to the reset page either way.
func (s *Server) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.hostedRequest(w, r)
	if !ok {
		return
	}
	username := r.PostFormValue("username")
	wait := s.pace.start(r.Context(), MinForgotTime)
	err := s.sendResetCode(r, username)
	wait()
	if errors.Is(err, ErrMailLimit) {
		setRetryAfter(w, MailInterval)
		s.render(w, r, http.StatusTooManyRequests, pages.ForgotPage(pages.Forgot{
			Action: ar.pageURL("/forgotPassword"), CSRF: s.csrfToken(w, r), Login: ar.pageURL("/login"),
			Username: username, Error: msgMailLimit,
		}))
		return
	}
	if err != nil {
		s.internalError(w, r, "forgot password", err)
		return
	}
	q := ar.query()
	q.Set("username", strings.TrimSpace(username))
	http.Redirect(w, r, "/confirmForgotPassword?"+q.Encode(), http.StatusSeeOther)
}

// sendResetCode mails a reset code if username has an account, and does
// nothing (and says nothing) otherwise. It returns ErrMailLimit when the
// address or the client has asked too often, counted whether or not the
// address has an account, so the limit tells nothing about accounts.
func (s *Server) sendResetCode(r *http.Request, username string) error {
	if _, err := s.mail.allow(username, clientKey(r)); err != nil {
		return err
	}
	u, err := s.users.ByEmail(r.Context(), username)
	if errors.Is(err, users.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.mailResetCode(r.Context(), u)
}

// mailResetCode issues a reset code for u and mails it, under no limit:
// the callers apply theirs.
func (s *Server) mailResetCode(ctx context.Context, u users.User) error {
	code, err := s.users.NewCode(ctx, u.Sub, users.PurposeReset)
	if err != nil {
		return err
	}
	_, err = s.outbox.Send(u.Email, "Your password reset code",
		"Your password reset code is\n\n"+code+"\n\nIt works once, for one hour. If you did not ask to reset your password, ignore this message.\n")
	return err
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request, ar authRequest, status int, v pages.Reset) {
	q := ar.query()
	v.Action = "/confirmForgotPassword?" + q.Encode()
	v.CSRF = s.csrfToken(w, r)
	s.render(w, r, status, pages.ResetPage(v))
}

// reset is GET /confirmForgotPassword.
func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.hostedRequest(w, r)
	if !ok {
		return
	}
	s.resetPage(w, r, ar, http.StatusOK, pages.Reset{
		Username: r.URL.Query().Get("username"),
		Notice:   "If an account exists for this address, we have sent a code to it.",
	})
}

// resetSubmit is POST /confirmForgotPassword: the code proves the mailbox,
// so it also confirms an unconfirmed account.
func (s *Server) resetSubmit(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.hostedRequest(w, r)
	if !ok {
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	v := pages.Reset{Username: username}
	v.Errors = users.CheckPassword(password)
	if password != r.PostFormValue("confirmPassword") {
		v.Errors = append(v.Errors, "Passwords do not match.")
	}
	if len(v.Errors) > 0 {
		s.resetPage(w, r, ar, http.StatusBadRequest, v)
		return
	}
	// Wrong codes count toward the same lockout as wrong passwords: a new
	// code can be asked for at will, so the per-code limit alone would not
	// stop someone from guessing six digits.
	name, client := lockoutKey(username), clientKey(r)
	if ok, wait := s.hashRate.allow(client); !ok {
		setRetryAfter(w, wait)
		v.Errors = []string{msgTooMany}
		s.resetPage(w, r, ar, http.StatusTooManyRequests, v)
		return
	}
	if ok, until := s.lockout.beginFrom(name, client); !ok {
		s.resetLocked(w, r, ar, v, until)
		return
	}
	wait := s.pace.start(r.Context(), MinResetTime)
	u, err := s.users.ByEmail(r.Context(), username)
	if err == nil {
		err = s.users.ResetPassword(r.Context(), u.Sub, strings.TrimSpace(r.PostFormValue("code")), password)
	} else if errors.Is(err, users.ErrNotFound) {
		// Busy when a reset that hashes would be, or busy would mean "has
		// an account".
		if berr := users.TakeHashTurn(); berr != nil {
			err = berr
		}
	}
	wait()
	if errors.Is(err, users.ErrBusy) {
		s.lockout.undo(name, client)
		setRetryAfter(w, users.HashRetryAfter)
		v.Errors = []string{msgBusy}
		s.resetPage(w, r, ar, http.StatusServiceUnavailable, v)
		return
	}
	if errors.Is(err, users.ErrNotFound) || errors.Is(err, users.ErrBadCode) {
		if locked, until := s.lockout.lockedFrom(name, client); locked {
			s.resetLocked(w, r, ar, v, until)
			return
		}
		v.Errors = []string{msgBadCode}
		s.resetPage(w, r, ar, http.StatusBadRequest, v)
		return
	}
	if err != nil {
		s.internalError(w, r, "reset password", err)
		return
	}
	s.lockout.succeedFrom(name, client)
	s.log.InfoContext(r.Context(), "password reset", "sub", u.Sub)
	if err := s.endAccountSessions(r.Context(), u.Sub); err != nil {
		// The password is changed; saying so would claim the old
		// sessions ended too.
		s.internalError(w, r, "reset password", err)
		return
	}
	s.message(w, r, http.StatusOK, "Password changed", "Your password has been changed. Sign in with your new password.",
		pages.Link{Text: "Sign in", Href: ar.pageURL("/login")})
}

func (s *Server) resetLocked(w http.ResponseWriter, r *http.Request, ar authRequest, v pages.Reset, until time.Time) {
	wait := max(until.Sub(s.now()).Round(time.Second), time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
	v.Errors = []string{fmt.Sprintf("Attempt limit exceeded: after %d failed attempts this address is locked. Try again in %v.", LockoutThreshold, wait)}
	s.resetPage(w, r, ar, http.StatusTooManyRequests, v)
}

// logout is GET /logout: end the provider session and go back to the
// client's registered logout_uri, or (given redirect_uri and
// response_type instead) to the sign-in page, as Cognito's does. In the
// second form only the client and its redirect_uri are checked here (the
// redirect_uri exactly, like every other); the rest of the authorization
// request, PKCE included, is carried to the sign-in page unchanged and
// checked there, as /oauth2/authorize checks it.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, ok := s.client(q.Get("client_id"))
	if !ok || len(q["client_id"]) > 1 {
		s.badRequest(w, r, "The application that sent you here is not registered with this identity provider (unknown client_id).")
		return
	}
	if lu := q.Get("logout_uri"); lu != "" || q.Get("redirect_uri") == "" {
		if !slices.Contains(c.LogoutURLs, lu) || len(q["logout_uri"]) > 1 {
			s.badRequest(w, r, "The application asked to return to a URL that is not registered as its sign-out URL (logout_uri mismatch).")
			return
		}
		s.endSession(w, r)
		http.Redirect(w, r, lu, http.StatusFound)
		return
	}
	if !slices.Contains(c.CallbackURLs, q.Get("redirect_uri")) || len(q["redirect_uri"]) > 1 {
		s.badRequest(w, r, "The application asked to return to a URL that is not registered for it (redirect_uri mismatch).")
		return
	}
	s.endSession(w, r)
	carried := url.Values{}
	for _, p := range authParams {
		if v, ok := q[p]; ok {
			carried[p] = v
		}
	}
	http.Redirect(w, r, "/login?"+carried.Encode(), http.StatusFound)
}

// statusClientClosed records, in the access log, a request whose client went
// away before the answer (nginx's code for it): no one reads the answer,
// and it is not the server's error.
const statusClientClosed = 499

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		s.log.InfoContext(r.Context(), what+": the client went away")
		w.WriteHeader(statusClientClosed)
		return
	}
	s.log.ErrorContext(r.Context(), what, "error", err)
	s.message(w, r, http.StatusInternalServerError, "Something went wrong",
		"The identity provider could not finish this request. Try again in a moment.")
}
