package idp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/usersvc/usersvc/web/idp/pages"
	"github.com/usersvc/usersvc/web/idp/users"
)

// Hosted UI behaviour for the account states an administrator sets
// (disabled, FORCE_CHANGE_PASSWORD, RESET_REQUIRED), and what ends an
// account's sessions. Kept apart from hosted.go, which holds the forms
// every account sees.

// changePasswordTTL is how long the "Change password" page may be
// submitted after the temporary password was given (Cognito's challenge
// sessions last 3 minutes; a person typing a new password gets more).
const changePasswordTTL = 10 * time.Minute

// signInHeld answers a sign-in with the right password that must not (yet)
// start a session, and reports whether it did: a disabled account is
// refused, one with a temporary password gets the "Change password" page,
// one whose password an administrator reset is sent to reset it.
func (s *Server) signInHeld(w http.ResponseWriter, r *http.Request, ar authRequest, u users.User, username string) bool {
	switch {
	case u.Disabled:
		s.loginPage(w, r, ar, http.StatusForbidden, pages.Login{Username: username, Error: "User is disabled."})
	case u.Status == users.ForceChangePassword:
		s.changePasswordPage(w, r, ar, http.StatusOK, s.passwordProof(r.Context(), u.Sub), nil)
	case u.Status == users.ResetRequired:
		s.loginPage(w, r, ar, http.StatusForbidden, pages.Login{Username: username,
			Error: "Password reset required for the user. Use \"Forgot your password?\" to choose a new one."})
	default:
		return false
	}
	return true
}

func (s *Server) changePasswordPage(w http.ResponseWriter, r *http.Request, ar authRequest, status int, proof string, errs []string) {
	s.render(w, r, status, pages.ChangePasswordPage(pages.ChangePassword{
		Action: ar.pageURL("/changePassword"), CSRF: s.csrfToken(w, r), Session: proof, Errors: errs,
	}), ar.callbackOrigin()) // the new password ends the sign-in at the callback
}

// changePasswordSubmit is POST /changePassword: the new password of an
// account that just gave its temporary one. The session field proves that,
// for a while and only while the temporary password is unchanged.
func (s *Server) changePasswordSubmit(w http.ResponseWriter, r *http.Request) {
	ar, ok := s.hostedRequest(w, r)
	if !ok {
		return
	}
	proof := r.PostFormValue("session")
	sub, ok := s.checkPasswordProof(r.Context(), proof)
	if !ok {
		s.loginPage(w, r, ar, http.StatusUnauthorized, pages.Login{Error: "Your session has expired. Sign in again with your temporary password."})
		return
	}
	password := r.PostFormValue("password")
	errs := users.CheckPassword(password)
	if password != r.PostFormValue("confirmPassword") {
		errs = append(errs, "Passwords do not match.")
	}
	if len(errs) > 0 {
		s.changePasswordPage(w, r, ar, http.StatusBadRequest, proof, errs)
		return
	}
	err := s.users.SetPassword(r.Context(), sub, password, users.Confirmed)
	if errors.Is(err, users.ErrBusy) {
		setRetryAfter(w, users.HashRetryAfter)
		s.changePasswordPage(w, r, ar, http.StatusServiceUnavailable, proof, []string{msgBusy})
		return
	}
	if err != nil {
		s.internalError(w, r, "change password", err)
		return
	}
	if err := s.endAccountSessions(r.Context(), sub); err != nil {
		s.internalError(w, r, "change password", err)
		return
	}
	u, err := s.users.Get(r.Context(), sub)
	if err != nil || !u.Active() {
		s.loginPage(w, r, ar, http.StatusForbidden, pages.Login{Error: "User is disabled."})
		return
	}
	sess := s.startSession(w, r, sub, s.now())
	s.log.InfoContext(r.Context(), "temporary password replaced", "sub", sub, "client_id", ar.client.ClientId)
	s.redirectWithCode(w, r, ar, sess)
}

// passwordProof returns a token that names sub, expires, and is bound to
// the account's current password (so it dies with it).
func (s *Server) passwordProof(ctx context.Context, sub string) string {
	stamp, err := s.users.PasswordStamp(ctx, sub)
	if err != nil {
		return ""
	}
	exp := make([]byte, 8)
	binary.BigEndian.PutUint64(exp, uint64(s.now().Add(changePasswordTTL).Unix()))
	body := sub + "." + b64.EncodeToString(exp)
	return body + "." + s.proofMAC(body, stamp)
}

func (s *Server) proofMAC(body string, stamp []byte) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("change password\x00" + body + "\x00"))
	m.Write(stamp)
	return b64.EncodeToString(m.Sum(nil))
}

func (s *Server) checkPasswordProof(ctx context.Context, proof string) (string, bool) {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return "", false
	}
	exp, err := b64.DecodeString(parts[1])
	if err != nil || len(exp) != 8 || s.now().Unix() >= int64(binary.BigEndian.Uint64(exp)) {
		return "", false
	}
	u, err := s.users.Get(ctx, parts[0])
	if err != nil || u.Status != users.ForceChangePassword {
		return "", false
	}
	stamp, err := s.users.PasswordStamp(ctx, u.Sub)
	if err != nil {
		return "", false
	}
	want := s.proofMAC(parts[0]+"."+parts[1], stamp)
	return u.Sub, hmac.Equal([]byte(want), []byte(parts[2]))
}

// endAccountSessions ends what the account's old password (or its
// enabled state) opened: every refresh-token family (and the access tokens
// minted in them, and so the application sessions that hold them) and
// every Hosted UI session. An error means refresh tokens may still work:
// the caller must not report success (a sign-out that did not sign out, a
// password change that left the old sessions open). When the change that
// called it has already been made (a new password), the caller still
// answers with the error, so the client retries or signs out again; the
// Hosted UI sessions are ended either way.
func (s *Server) endAccountSessions(ctx context.Context, sub string) error {
	s.mu.Lock()
	for k, v := range s.sessions {
		if v.sub == sub {
			delete(s.sessions, k)
		}
	}
	s.mu.Unlock()
	revoke := s.users.RevokeAll
	if s.revokeAll != nil {
		revoke = s.revokeAll
	}
	if err := revoke(ctx, sub); err != nil {
		return fmt.Errorf("end sessions of %s: %w", sub, err)
	}
	return nil
}

// sendPending tells the address that a sign-up for it is already waiting
// for confirmation. It mails no link: the pending account's password is
// whoever registered first's, and the owner claims the address by a reset,
// which sets a password the owner types.
func (s *Server) sendPending(email, forgotPath string) error {
	// At most once a day per address, as the notice to a confirmed one.
	if !s.mail.existsNotice(email) {
		return nil
	}
	_, err := s.outbox.Send(email, "Your address is waiting for confirmation",
		"Someone (perhaps you) tried to create an account with this address, which already has an account waiting for confirmation.\n\n"+
			"If you signed up earlier and remember the password you chose, open the link in the first message we sent.\n"+
			"If you did not sign up, or do not know that password, do not open any earlier link: reset the password instead, at\n"+
			s.origin+forgotPath+"\n\nThe reset code we mail you confirms the address with a password of your own.\n")
	return err
}

// The verification link confirms at once only in the browser that signed
// the account up (it holds the sign-up cookie, bound to the password chosen
// there); anywhere else it first asks for that password. Whoever confirms
// has then chosen, or at least knows, the password being confirmed: a link
// mailed for someone else's sign-up of your address cannot hand you an
// account whose password they hold.

func (s *Server) signUpCookie() string {
	if s.secure {
		return "__Host-idp-signup"
	}
	return "idp-signup"
}

func (s *Server) signUpMAC(sub string, stamp []byte) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("signed up here\x00" + sub + "\x00"))
	m.Write(stamp)
	return b64.EncodeToString(m.Sum(nil))
}

// rememberSignUp marks this browser as the one that signed u up.
func (s *Server) rememberSignUp(w http.ResponseWriter, r *http.Request, u users.User) {
	stamp, err := s.users.PasswordStamp(r.Context(), u.Sub)
	if err != nil {
		return
	}
	s.setCookie(w, s.signUpCookie(), u.Sub+"."+s.signUpMAC(u.Sub, stamp), users.ConfirmTTL)
}

// signedUpHere reports whether the browser signed sub up, with the
// password sub has now.
func (s *Server) signedUpHere(r *http.Request, sub string) bool {
	c, err := r.Cookie(s.signUpCookie())
	if err != nil {
		return false
	}
	got, mac, ok := strings.Cut(c.Value, ".")
	if !ok || got != sub {
		return false
	}
	stamp, err := s.users.PasswordStamp(r.Context(), sub)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(s.signUpMAC(sub, stamp)))
}

// confirmLink is GET /confirmUser, the emailed verification link.
func (s *Server) confirmLink(w http.ResponseWriter, r *http.Request) {
	sub := r.URL.Query().Get("user_name")
	u, err := s.users.Get(r.Context(), sub)
	if err != nil || u.Status != users.Unconfirmed || s.signedUpHere(r, sub) {
		s.confirmUser(w, r) // confirms, or says the link is dead
		return
	}
	s.confirmPasswordPage(w, r, u, http.StatusOK, nil)
}

func (s *Server) confirmPasswordPage(w http.ResponseWriter, r *http.Request, u users.User, status int, errs []string) {
	s.render(w, r, status, pages.ConfirmSignUpPage(pages.ConfirmSignUp{
		Action: "/confirmUser?" + r.URL.RawQuery, CSRF: s.csrfToken(w, r), Email: u.Email, Errors: errs,
	}))
}

// confirmLinkSubmit is POST /confirmUser: the link's code and the password
// chosen at sign-up, from a browser that did not sign up.
func (s *Server) confirmLinkSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPageForm)
	if err := r.ParseForm(); err != nil {
		s.badRequest(w, r, "The form could not be read.")
		return
	}
	if !s.checkCSRF(r) {
		s.csrfFailed(w, r)
		return
	}
	u, err := s.users.Get(r.Context(), r.URL.Query().Get("user_name"))
	if err != nil || u.Status != users.Unconfirmed {
		s.confirmUser(w, r)
		return
	}
	if ok, wait := s.hashRate.allow(clientKey(r)); !ok {
		setRetryAfter(w, wait)
		s.confirmPasswordPage(w, r, u, http.StatusTooManyRequests, []string{msgTooMany})
		return
	}
	name := lockoutKey(u.Email)
	if ok, until := s.lockout.beginFrom(name, clientKey(r)); !ok {
		wait := max(until.Sub(s.now()).Round(time.Second), time.Second)
		setRetryAfter(w, wait)
		s.confirmPasswordPage(w, r, u, http.StatusTooManyRequests, []string{fmt.Sprintf("Password attempts exceeded. Try again in %v.", wait)})
		return
	}
	ok, err := s.users.CheckPasswordOf(r.Context(), u.Sub, r.PostFormValue("password"))
	if errors.Is(err, users.ErrBusy) {
		s.lockout.undo(name, clientKey(r))
		setRetryAfter(w, users.HashRetryAfter)
		s.confirmPasswordPage(w, r, u, http.StatusServiceUnavailable, []string{msgBusy})
		return
	}
	if err != nil {
		s.internalError(w, r, "check password", err)
		return
	}
	if !ok {
		s.confirmPasswordPage(w, r, u, http.StatusUnauthorized, []string{"Incorrect password."})
		return
	}
	s.lockout.succeedFrom(name, clientKey(r))
	s.confirmUser(w, r)
}
