package idp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/usersvc/usersvc/web/idp/users"
)

// The JSON API's operations for users of an app client (no AWS
// credentials): sign-up, sign-in, codes, and what an access token allows.

// attribute is Cognito's AttributeType.
type attribute struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// codeDelivery is Cognito's CodeDeliveryDetailsType.
type codeDelivery struct {
	AttributeName  string `json:"AttributeName"`
	DeliveryMedium string `json:"DeliveryMedium"`
	Destination    string `json:"Destination"`
}

// The members SDKs send that the provider accepts and ignores.
type (
	analytics struct {
		AnalyticsMetadata json.RawMessage `json:"AnalyticsMetadata,omitempty"`
		UserContextData   json.RawMessage `json:"UserContextData,omitempty"`
		ClientMetadata    map[string]string
	}
)

// emailDelivery says where a code went, masked as Cognito masks it.
func emailDelivery(email string) *codeDelivery {
	return &codeDelivery{AttributeName: "email", DeliveryMedium: "EMAIL", Destination: maskEmail(email)}
}

// deliveryTo says where a code for the account a caller named went,
// without telling whether that name has an account: the destination is
// masked from the name as typed (normalised, as an unknown name's is), and
// from the stored address only when the caller named the account by its
// sub, which only someone who knows the account has.
func deliveryTo(name string, u *users.User) *codeDelivery {
	if u != nil && name == u.Sub {
		return emailDelivery(u.Email)
	}
	if email, err := users.NormalizeEmail(name); err == nil {
		return emailDelivery(email)
	}
	return emailDelivery("")
}

func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" {
		return "***"
	}
	return local[:1] + "***@" + domain[:1] + "***"
}

// apiClient returns the app client a public operation names.
func (s *Server) apiClient(id string) (*client, error) {
	if err := required("ClientId", id); err != nil {
		return nil, err
	}
	c, ok := s.client(id)
	if !ok {
		return nil, apiErr(excResourceNotFound, "User pool client %s does not exist.", truncate(id, 128))
	}
	return c, nil
}

// checkSecretHash checks SECRET_HASH as Cognito does for a client with a
// secret: Base64(HMAC-SHA256(secret, username + client id)), for any of the
// names the caller may have used (what it typed, or the username).
func checkSecretHash(c *client, hash string, names ...string) error {
	if c.Public() {
		return nil
	}
	if hash == "" {
		return apiErr(excNotAuthorized, "Client %s is configured with secret but SECRET_HASH was not received", c.ClientId)
	}
	got, err := base64.StdEncoding.DecodeString(hash)
	match := 0
	for _, n := range names {
		if n == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(c.ClientSecret))
		m.Write([]byte(n + c.ClientId))
		if err == nil && hmac.Equal(m.Sum(nil), got) {
			match = 1
		}
	}
	if match != 1 {
		return apiErr(excNotAuthorized, "Unable to verify secret hash for client %s", c.ClientId)
	}
	return nil
}

// passwordPolicy refuses a password the pool's policy refuses.
func passwordPolicy(p string) error {
	if problems := users.CheckPassword(p); len(problems) > 0 {
		return apiErr(excInvalidPassword, "Password did not conform with policy: %s", problems[0])
	}
	return nil
}

// userAttributes turns a request's attributes into a map, refusing what a
// user (admin false) or an administrator may not write.
func userAttributes(list []attribute, admin bool) (map[string]string, error) {
	m := map[string]string{}
	for _, a := range list {
		if a.Name == "" || len(a.Name) > 32 || len(a.Value) > 2048 {
			return nil, apiErr(excInvalidParameter, "Invalid user attribute name or value.")
		}
		switch {
		case a.Name == "sub":
			return nil, apiErr(excInvalidParameter, "Cannot modify the non-mutable attribute sub")
		case a.Name == "email_verified" && !admin:
			return nil, apiErr(excNotAuthorized, "A client attempted to write unauthorized attribute")
		case strings.HasPrefix(a.Name, "custom:"), standardAttributes[a.Name]:
		default:
			return nil, apiErr(excInvalidParameter, "Attribute does not exist in the schema.")
		}
		m[a.Name] = a.Value
	}
	return m, nil
}

// standardAttributes are the OpenID Connect attributes Cognito knows.
var standardAttributes = map[string]bool{
	"address": true, "birthdate": true, "email": true, "email_verified": true, "family_name": true,
	"gender": true, "given_name": true, "locale": true, "middle_name": true, "name": true,
	"nickname": true, "phone_number": true, "phone_number_verified": true, "picture": true,
	"preferred_username": true, "profile": true, "updated_at": true, "website": true, "zoneinfo": true,
}

// attributeList is an account's attributes as Cognito lists them.
func attributeList(u users.User, only []string) []attribute {
	all := []attribute{{"sub", u.Sub}, {"email", u.Email}, {"email_verified", boolString(u.EmailVerified)}}
	for n, v := range u.Attributes {
		all = append(all, attribute{n, v})
	}
	if only == nil {
		return all
	}
	var out []attribute
	for _, a := range all {
		for _, o := range only {
			if a.Name == o {
				out = append(out, a)
			}
		}
	}
	return out
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// ---- SignUp, ConfirmSignUp, ResendConfirmationCode

type signUpIn struct {
	analytics
	ClientId       string
	Username       string
	Password       string
	SecretHash     string
	UserAttributes []attribute
	ValidationData []attribute
}

func (s *Server) apiSignUp(ctx context.Context, in *signUpIn) (any, error) {
	c, err := s.apiClient(in.ClientId)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ n, v string }{{"Username", in.Username}, {"Password", in.Password}} {
		if err := required(f.n, f.v); err != nil {
			return nil, err
		}
	}
	if err := maxLen("Username", in.Username, 128); err != nil {
		return nil, err
	}
	if err := checkSecretHash(c, in.SecretHash, in.Username); err != nil {
		return nil, err
	}
	email, err := users.NormalizeEmail(in.Username)
	if err != nil {
		return nil, apiErr(excInvalidParameter, "Username should be an email.")
	}
	attrs, err := userAttributes(in.UserAttributes, false)
	if err != nil {
		return nil, err
	}
	if e, ok := attrs["email"]; ok {
		if ne, err := users.NormalizeEmail(e); err != nil || ne != email {
			return nil, apiErr(excInvalidParameter, "The email attribute must be the username.")
		}
		delete(attrs, "email")
	}
	if len(attrs) == 0 {
		attrs = nil
	}
	if err := passwordPolicy(in.Password); err != nil {
		return nil, err
	}
	if err := s.hashAllowed(ctx); err != nil {
		return nil, err
	}
	if err := s.mailAllowed(ctx, email); err != nil {
		return nil, err
	}
	u, err := s.users.SignUp(ctx, email, in.Password, attrs)
	if errors.Is(err, users.ErrExists) || errors.Is(err, users.ErrPending) {
		return nil, apiErr(excUsernameExists, "An account with the given email already exists.")
	}
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "signed up", "sub", u.Sub, "client_id", c.ClientId, "via", "api")
	if err := s.sendConfirmation(requestWith(ctx), u, c.ClientId); err != nil {
		return nil, err
	}
	return map[string]any{"UserConfirmed": false, "UserSub": u.Sub, "CodeDeliveryDetails": emailDelivery(u.Email)}, nil
}

// apiRequestKey carries the API call's *http.Request in its context.
type apiRequestKey struct{}

// requestWith returns the API call's request, for the mail helpers the
// Hosted UI and the API share (they take the request for its context and
// its client).
func requestWith(ctx context.Context) *http.Request {
	if r, ok := ctx.Value(apiRequestKey{}).(*http.Request); ok {
		return r
	}
	r, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	return r
}

type confirmSignUpIn struct {
	analytics
	ClientId           string
	Username           string
	ConfirmationCode   string
	SecretHash         string
	ForceAliasCreation bool
	Session            string
}

func (s *Server) apiConfirmSignUp(ctx context.Context, in *confirmSignUpIn) (any, error) {
	c, err := s.apiClient(in.ClientId)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ n, v string }{{"Username", in.Username}, {"ConfirmationCode", in.ConfirmationCode}} {
		if err := required(f.n, f.v); err != nil {
			return nil, err
		}
	}
	if err := checkSecretHash(c, in.SecretHash, in.Username); err != nil {
		return nil, err
	}
	u, err := s.users.Lookup(ctx, in.Username)
	if err != nil && !errors.Is(err, users.ErrNotFound) {
		return nil, err
	}
	name := accountLockoutKey(in.Username, u, err)
	if ok, _ := s.lockout.beginFrom(name, clientOf(ctx)); !ok {
		return nil, apiErr(excLimitExceeded, "Attempt limit exceeded, please try after some time.")
	}
	if err != nil {
		return nil, s.codeError(c, err)
	}
	if u.Status != users.Unconfirmed {
		// No code was checked: take back this attempt, and only this one
		// (clearing the count would let anyone wipe the account's
		// password failures with a ConfirmSignUp between guesses).
		s.lockout.undo(name, clientOf(ctx))
		return nil, apiErr(excNotAuthorized, "User cannot be confirmed. Current status is %s", u.Status)
	}
	if err := s.codeError(c, s.users.ConfirmWithCode(ctx, u.Sub, strings.TrimSpace(in.ConfirmationCode))); err != nil {
		return nil, err
	}
	s.lockout.succeedFrom(name, clientOf(ctx))
	s.log.InfoContext(ctx, "email confirmed", "sub", u.Sub, "via", "api")
	return struct{}{}, nil
}

// codeError maps a code's refusal (or an unknown user's) to Cognito's
// exceptions. When the client prevents existence errors every refusal is
// the same CodeMismatchException: an account with no code outstanding
// would otherwise answer ExpiredCodeException where an unknown name gets
// CodeMismatchException, telling them apart in one request.
func (s *Server) codeError(c *client, err error) error {
	switch {
	case err == nil:
		return nil
	case c.preventsExistenceErrors() && (errors.Is(err, users.ErrBadCode) || errors.Is(err, users.ErrNotFound)):
		return apiErr(excCodeMismatch, "Invalid verification code provided, please try again.")
	case errors.Is(err, users.ErrNotFound):
		return apiErr(excUserNotFound, "User does not exist.")
	case errors.Is(err, users.ErrExpiredCode):
		return apiErr(excExpiredCode, "Invalid code provided, please request a code again.")
	case errors.Is(err, users.ErrBadCode):
		return apiErr(excCodeMismatch, "Invalid verification code provided, please try again.")
	}
	return err
}

// accountLockoutKey is the lockout's key for a password or code typed for
// name: the account's email when name (an email or the sub) found one, so
// that every name of an account shares one count, else the name as typed.
func accountLockoutKey(name string, u users.User, lookupErr error) string {
	if lookupErr == nil {
		return lockoutKey(u.Email)
	}
	return lockoutKey(name)
}

type resendIn struct {
	analytics
	ClientId   string
	Username   string
	SecretHash string
}

func (s *Server) apiResendConfirmationCode(ctx context.Context, in *resendIn) (any, error) {
	c, err := s.apiClient(in.ClientId)
	if err != nil {
		return nil, err
	}
	if err := required("Username", in.Username); err != nil {
		return nil, err
	}
	if err := checkSecretHash(c, in.SecretHash, in.Username); err != nil {
		return nil, err
	}
	// Counted whether or not the address has an account.
	if err := s.mailAllowed(ctx, in.Username); err != nil {
		return nil, err
	}
	wait := s.pace.start(ctx, MinForgotTime)
	defer wait()
	u, err := s.users.Lookup(ctx, in.Username)
	if errors.Is(err, users.ErrNotFound) {
		if c.preventsExistenceErrors() {
			return map[string]any{"CodeDeliveryDetails": deliveryTo(in.Username, nil)}, nil
		}
		return nil, apiErr(excUserNotFound, "User does not exist.")
	}
	if err != nil {
		return nil, err
	}
	if u.Status != users.Unconfirmed {
		return nil, apiErr(excInvalidParameter, "User is already confirmed.")
	}
	if err := s.sendConfirmation(requestWith(ctx), u, c.ClientId); err != nil {
		return nil, err
	}
	return map[string]any{"CodeDeliveryDetails": deliveryTo(in.Username, &u)}, nil
}

// ---- ForgotPassword, ConfirmForgotPassword

type forgotIn struct {
	analytics
	ClientId   string
	Username   string
	SecretHash string
}

func (s *Server) apiForgotPassword(ctx context.Context, in *forgotIn) (any, error) {
	c, err := s.apiClient(in.ClientId)
	if err != nil {
		return nil, err
	}
	if err := required("Username", in.Username); err != nil {
		return nil, err
	}
	if err := checkSecretHash(c, in.SecretHash, in.Username); err != nil {
		return nil, err
	}
	wait := s.pace.start(ctx, MinForgotTime)
	defer wait()
	u, err := s.users.Lookup(ctx, in.Username)
	switch {
	case errors.Is(err, users.ErrNotFound):
		if !c.preventsExistenceErrors() {
			return nil, apiErr(excUserNotFound, "User does not exist.")
		}
		// sendResetCode counts the request against the mail limits and
		// sends nothing, as for an account.
		if err := s.sendResetCode(requestWith(ctx), in.Username); err != nil {
			return nil, err
		}
		return map[string]any{"CodeDeliveryDetails": deliveryTo(in.Username, nil)}, nil
	case err != nil:
		return nil, err
	case u.Disabled:
		return nil, apiErr(excNotAuthorized, "User is disabled.")
	}
	if err := s.sendResetCode(requestWith(ctx), u.Email); err != nil {
		return nil, err
	}
	return map[string]any{"CodeDeliveryDetails": deliveryTo(in.Username, &u)}, nil
}

type confirmForgotIn struct {
	analytics
	ClientId         string
	Username         string
	ConfirmationCode string
	Password         string
	SecretHash       string
}

func (s *Server) apiConfirmForgotPassword(ctx context.Context, in *confirmForgotIn) (any, error) {
	c, err := s.apiClient(in.ClientId)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ n, v string }{{"Username", in.Username}, {"ConfirmationCode", in.ConfirmationCode}, {"Password", in.Password}} {
		if err := required(f.n, f.v); err != nil {
			return nil, err
		}
	}
	if err := checkSecretHash(c, in.SecretHash, in.Username); err != nil {
		return nil, err
	}
	if err := passwordPolicy(in.Password); err != nil {
		return nil, err
	}
	if err := s.hashAllowed(ctx); err != nil {
		return nil, err
	}
	wait := s.pace.start(ctx, MinResetTime)
	u, err := s.users.Lookup(ctx, in.Username)
	if err != nil && !errors.Is(err, users.ErrNotFound) {
		wait()
		return nil, err
	}
	// Wrong codes count toward the sign-in lockout, as on the Hosted UI.
	name := accountLockoutKey(in.Username, u, err)
	if ok, _ := s.lockout.beginFrom(name, clientOf(ctx)); !ok {
		wait()
		return nil, apiErr(excLimitExceeded, "Attempt limit exceeded, please try after some time.")
	}
	if err == nil {
		err = s.users.ResetPassword(ctx, u.Sub, strings.TrimSpace(in.ConfirmationCode), in.Password)
	}
	wait()
	if errors.Is(err, users.ErrBusy) {
		s.lockout.undo(name, clientOf(ctx))
		return nil, err
	}
	if err := s.codeError(c, err); err != nil {
		return nil, err
	}
	s.lockout.succeedFrom(name, clientOf(ctx))
	s.log.InfoContext(ctx, "password reset", "sub", u.Sub, "via", "api")
	return struct{}{}, s.endAccountSessions(ctx, u.Sub) // an error after the change: see endAccountSessions
}

// ---- Operations on the signed-in user's access token

type accessTokenIn struct{ AccessToken string }

func (s *Server) apiGetUser(ctx context.Context, in *accessTokenIn) (any, error) {
	_, u, err := s.accessUser(ctx, in.AccessToken)
	if err != nil {
		return nil, err
	}
	return getUserOut{Username: u.Sub, UserAttributes: attributeList(u, nil)}, nil
}

type getUserOut struct {
	Username       string      `json:"Username"`
	UserAttributes []attribute `json:"UserAttributes"`
}

type updateAttrsIn struct {
	AccessToken    string
	UserAttributes []attribute
	ClientMetadata map[string]string
}

func (s *Server) apiUpdateUserAttributes(ctx context.Context, in *updateAttrsIn) (any, error) {
	_, u, err := s.accessUser(ctx, in.AccessToken)
	if err != nil {
		return nil, err
	}
	attrs, err := userAttributes(in.UserAttributes, false)
	if err != nil {
		return nil, err
	}
	sent, err := s.updateOwnAttributes(ctx, u, attrs)
	if err != nil {
		return nil, err
	}
	return map[string]any{"CodeDeliveryDetailsList": sent}, nil
}

// updateOwnAttributes applies the attribute changes a user makes to their
// own account. As in the pool on AWS (attributes_require_verification_
// before_update = ["email"]), a new email does not take effect: a code is
// mailed to it, and the account keeps its address and sign-in alias until
// VerifyUserAttribute proves the new one. Otherwise anyone could take an
// address they do not own and keep its owner from signing up with it.
func (s *Server) updateOwnAttributes(ctx context.Context, u users.User, attrs map[string]string) ([]codeDelivery, error) {
	sent := []codeDelivery{}
	email, changing := attrs["email"]
	delete(attrs, "email")
	if changing {
		ne, err := users.NormalizeEmail(email)
		if err != nil {
			return nil, apiErr(excInvalidParameter, "Invalid email address format.")
		}
		if ne != u.Email {
			if err := s.mailAllowed(ctx, ne); err != nil {
				return nil, err
			}
		}
		code, err := s.users.ChangeEmail(ctx, u.Sub, ne)
		if err != nil {
			return nil, s.attributeError(u.Sub, err)
		}
		if code != "" {
			if err := s.sendEmailCode(ne, code); err != nil {
				return nil, err
			}
			sent = append(sent, *emailDelivery(ne))
		}
	}
	if len(attrs) > 0 {
		if err := s.updateAttributes(ctx, u.Sub, attrs); err != nil {
			return nil, err
		}
	}
	return sent, nil
}

// sendEmailCode mails a code that verifies the address it goes to.
func (s *Server) sendEmailCode(address, code string) error {
	_, err := s.outbox.Send(address, "Your verification code",
		"Your verification code is\n\n"+code+"\n\nIt works once, for 24 hours. If you did not ask to use this address, ignore this message.\n")
	return err
}

type verifyAttrIn struct {
	AccessToken   string
	AttributeName string
	Code          string
}

// apiVerifyUserAttribute is VerifyUserAttribute: the code mailed by
// UpdateUserAttributes (or GetUserAttributeVerificationCode) makes the new
// address the account's, or verifies the current one.
func (s *Server) apiVerifyUserAttribute(ctx context.Context, in *verifyAttrIn) (any, error) {
	for _, f := range []struct{ n, v string }{{"AttributeName", in.AttributeName}, {"Code", in.Code}} {
		if err := required(f.n, f.v); err != nil {
			return nil, err
		}
	}
	_, u, err := s.accessUser(ctx, in.AccessToken)
	if err != nil {
		return nil, err
	}
	if in.AttributeName != "email" {
		return nil, apiErr(excInvalidParameter, "Only the email attribute can be verified.")
	}
	v, err := s.users.VerifyEmail(ctx, u.Sub, strings.TrimSpace(in.Code))
	switch {
	// The caller holds the account's token: telling an expired code from
	// a wrong one reveals nothing.
	case errors.Is(err, users.ErrExpiredCode):
		return nil, apiErr(excExpiredCode, "Invalid code provided, please request a code again.")
	case errors.Is(err, users.ErrBadCode):
		return nil, apiErr(excCodeMismatch, "Invalid verification code provided, please try again.")
	case err != nil:
		return nil, s.attributeError(u.Sub, err)
	}
	if v.Email != u.Email {
		s.log.InfoContext(ctx, "email changed", "sub", u.Sub, "via", "api")
	}
	return struct{}{}, nil
}

type attrCodeIn struct {
	AccessToken    string
	AttributeName  string
	ClientMetadata map[string]string
}

// apiGetUserAttributeVerificationCode mails a new code for the address
// waiting to be verified, else for the current one.
func (s *Server) apiGetUserAttributeVerificationCode(ctx context.Context, in *attrCodeIn) (any, error) {
	if err := required("AttributeName", in.AttributeName); err != nil {
		return nil, err
	}
	_, u, err := s.accessUser(ctx, in.AccessToken)
	if err != nil {
		return nil, err
	}
	if in.AttributeName != "email" {
		return nil, apiErr(excInvalidParameter, "Only the email attribute can be verified.")
	}
	code, address, err := s.users.EmailCode(ctx, u.Sub, func(address string) error {
		return s.mailAllowed(ctx, address)
	})
	if ae := (*apiError)(nil); errors.As(err, &ae) {
		return nil, ae // the mail limit's
	}
	if err != nil {
		return nil, s.attributeError(u.Sub, err)
	}
	if err := s.sendEmailCode(address, code); err != nil {
		return nil, err
	}
	return map[string]any{"CodeDeliveryDetails": emailDelivery(address)}, nil
}

// updateAttributes applies attribute changes, in Cognito's errors.
func (s *Server) updateAttributes(ctx context.Context, sub string, attrs map[string]string) error {
	_, err := s.users.UpdateAttributes(ctx, sub, attrs)
	return s.attributeError(sub, err)
}

// attributeError maps the store's refusals of an attribute change to
// Cognito's exceptions.
func (s *Server) attributeError(sub string, err error) error {
	switch {
	case errors.Is(err, users.ErrExists):
		return apiErr(excAliasExists, "An account with the given email already exists.")
	case errors.Is(err, users.ErrBadEmail):
		return apiErr(excInvalidParameter, "Invalid email address format.")
	case errors.Is(err, users.ErrBadAttribute):
		return apiErr(excInvalidParameter, "%s", strings.TrimPrefix(err.Error(), "update attributes of "+sub+": "))
	case errors.Is(err, users.ErrNotFound):
		return apiErr(excUserNotFound, "User does not exist.")
	}
	return err
}

type changePasswordIn struct {
	AccessToken      string
	PreviousPassword string
	ProposedPassword string
}

func (s *Server) apiChangePassword(ctx context.Context, in *changePasswordIn) (any, error) {
	for _, f := range []struct{ n, v string }{{"PreviousPassword", in.PreviousPassword}, {"ProposedPassword", in.ProposedPassword}} {
		if err := required(f.n, f.v); err != nil {
			return nil, err
		}
	}
	_, u, err := s.accessUser(ctx, in.AccessToken)
	if err != nil {
		return nil, err
	}
	if err := passwordPolicy(in.ProposedPassword); err != nil {
		return nil, err
	}
	if err := s.hashAllowed(ctx); err != nil {
		return nil, err
	}
	name := lockoutKey(u.Email)
	if ok, _ := s.lockout.beginFrom(name, clientOf(ctx)); !ok {
		return nil, apiErr(excLimitExceeded, "Attempt limit exceeded, please try after some time.")
	}
	err = s.users.ChangePassword(ctx, u.Sub, in.PreviousPassword, in.ProposedPassword)
	if errors.Is(err, users.ErrBusy) {
		s.lockout.undo(name, clientOf(ctx))
		return nil, err
	}
	if errors.Is(err, users.ErrBadCredentials) {
		return nil, apiErr(excNotAuthorized, "Incorrect username or password.")
	}
	if err != nil {
		return nil, err
	}
	s.lockout.succeedFrom(name, clientOf(ctx))
	s.log.InfoContext(ctx, "password changed", "sub", u.Sub, "via", "api")
	return struct{}{}, s.endAccountSessions(ctx, u.Sub) // an error after the change: see endAccountSessions
}

func (s *Server) apiGlobalSignOut(ctx context.Context, in *accessTokenIn) (any, error) {
	_, u, err := s.accessUser(ctx, in.AccessToken)
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.endAccountSessions(ctx, u.Sub)
}

func (s *Server) apiDeleteUser(ctx context.Context, in *accessTokenIn) (any, error) {
	_, u, err := s.accessUser(ctx, in.AccessToken)
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.deleteAccount(ctx, u.Sub)
}

func (s *Server) deleteAccount(ctx context.Context, sub string) error {
	if err := s.endAccountSessions(ctx, sub); err != nil {
		return err // nothing deleted: a retry can finish
	}
	if err := s.users.Delete(ctx, sub); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "user deleted", "sub", sub)
	return nil
}

type revokeTokenIn struct {
	ClientId     string
	Token        string
	ClientSecret string
}

func (s *Server) apiRevokeToken(ctx context.Context, in *revokeTokenIn) (any, error) {
	if err := required("Token", in.Token); err != nil {
		return nil, err
	}
	c, err := s.apiClient(in.ClientId)
	if err != nil {
		return nil, err
	}
	if !c.Public() {
		want := sha256.Sum256([]byte(c.ClientSecret))
		got := sha256.Sum256([]byte(in.ClientSecret))
		if in.ClientSecret == "" || !hmac.Equal(want[:], got[:]) {
			return nil, apiErr("UnauthorizedException", "Client secret is missing or incorrect.")
		}
	}
	if strings.Count(in.Token, ".") == 2 {
		return nil, apiErr(excUnsupportedToken, "Only refresh tokens can be revoked.")
	}
	ref, err := s.users.LookupRefresh(ctx, in.Token)
	switch {
	case errors.Is(err, users.ErrBadCode):
		return struct{}{}, nil // unknown, expired or revoked: nothing left to do
	case err != nil:
		return nil, err
	case ref.ClientID != c.ClientId:
		return nil, apiErr("UnauthorizedException", "The token was not issued to this client.")
	}
	if err := s.users.RevokeFamily(ctx, ref.OriginJTI, ref.Expires); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// clientOf is the lockout's and the limits' key for the API call's
// client (its address).
func clientOf(ctx context.Context) string { return clientKey(requestWith(ctx)) }

// hashAllowed refuses a call that would hash a password when its client
// has hashed too often (the Hosted UI's per-client rate).
func (s *Server) hashAllowed(ctx context.Context) error {
	if ok, _ := s.hashRate.allow(clientOf(ctx)); !ok {
		return apiErr(excTooManyRequests, "Too many requests from your network. Please try again in a moment.")
	}
	return nil
}

// mailAllowed refuses a call that would mail the address when the address
// or the client has had its share of mail.
func (s *Server) mailAllowed(ctx context.Context, address string) error {
	if _, err := s.mail.allow(address, clientOf(ctx)); err != nil {
		return apiErr(excLimitExceeded, "Attempt limit exceeded, please try after some time.")
	}
	return nil
}
