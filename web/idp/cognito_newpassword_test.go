package idp

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/usersvc/usersvc/web/idp/users"
)

// newPasswordEnv is a provider with a FORCE_CHANGE_PASSWORD account that
// has signed in with its temporary password: the NEW_PASSWORD_REQUIRED
// Session, and a function answering it.
func newPasswordEnv(t *testing.T) (e *apiEnv, session *string, answer func(session *string, password string) error) {
	t.Helper()
	e = newAPIEnv(t)
	ctx := context.Background()
	if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String(timEmail),
		TemporaryPassword: aws.String(timTemp), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	out, err := e.passwordAuth(timEmail, timTemp)
	if err != nil || out.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
		t.Fatalf("sign in with the temporary password: %+v %v", out, err)
	}
	answer = func(session *string, password string) error {
		_, err := e.anon.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"),
			ChallengeName: types.ChallengeNameTypeNewPasswordRequired, Session: session,
			ChallengeResponses: map[string]string{"USERNAME": timEmail, "NEW_PASSWORD": password}})
		return err
	}
	return e, out.Session, answer
}

const (
	timEmail  = "tim@example.com"
	timTemp   = "Temp0rary-pw"
	timChosen = "Str0ng-password!"
)

// wantStatus fails unless the account is in st.
func wantStatus(t *testing.T, e *apiEnv, email string, st users.Status) {
	t.Helper()
	u, err := e.srv.Users().ByEmail(context.Background(), email)
	if err != nil || u.Status != st {
		t.Fatalf("status %s (%v), want %s", u.Status, err, st)
	}
}

// TestNewPasswordRetry: a refused new password does not spend the Session
// (as on Cognito); the corrected answer with the same Session signs in,
// and then the Session is spent.
func TestNewPasswordRetry(t *testing.T) {
	e, session, answer := newPasswordEnv(t)
	wantAPIError[*types.InvalidPasswordException](t, "weak password", answer(session, "weak"))
	wantStatus(t, e, timEmail, users.ForceChangePassword)
	if err := answer(session, timChosen); err != nil {
		t.Fatalf("retry with the same Session: %v", err)
	}
	wantAPIMessage[*types.NotAuthorizedException](t, "Session answered twice", answer(session, "An0ther-password!"), "Invalid session for the user, session is expired.")
	e.tokens(timEmail, timChosen)
}

// TestNewPasswordSessionOfReplacedPassword: a new temporary password
// (AdminCreateUser RESEND, AdminSetUserPassword not permanent) voids the
// Sessions opened with the old one.
func TestNewPasswordSessionOfReplacedPassword(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"RESEND", "AdminSetUserPassword"} {
		t.Run(how, func(t *testing.T) {
			e, session, answer := newPasswordEnv(t)
			var err error
			if how == "RESEND" {
				_, err = e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String(timEmail),
					TemporaryPassword: aws.String("N3w-temporary"), MessageAction: types.MessageActionTypeResend})
			} else {
				_, err = e.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: e.pool, Username: aws.String(timEmail),
					Password: aws.String("N3w-temporary"), Permanent: false})
			}
			if err != nil {
				t.Fatal(err)
			}
			wantAPIMessage[*types.NotAuthorizedException](t, "Session of the old temporary password", answer(session, timChosen), "Invalid session for the user.")
			wantStatus(t, e, timEmail, users.ForceChangePassword)
			if _, err := e.passwordAuth(timEmail, timChosen); err == nil {
				t.Fatal("the password chosen with the void Session signs in")
			}
			// The new temporary password opens a Session that works.
			out, err := e.passwordAuth(timEmail, "N3w-temporary")
			if err != nil {
				t.Fatal(err)
			}
			if err := answer(out.Session, timChosen); err != nil {
				t.Fatalf("Session of the new temporary password: %v", err)
			}
		})
	}
}

// TestNewPasswordDisabled: a disabled account's answer is refused before
// the new password is set; once enabled, the same Session still works.
func TestNewPasswordDisabled(t *testing.T) {
	ctx := context.Background()
	e, session, answer := newPasswordEnv(t)
	set := func(disabled bool) {
		var err error
		if disabled {
			_, err = e.api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: e.pool, Username: aws.String(timEmail)})
		} else {
			_, err = e.api.AdminEnableUser(ctx, &cip.AdminEnableUserInput{UserPoolId: e.pool, Username: aws.String(timEmail)})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	set(true)
	wantAPIMessage[*types.NotAuthorizedException](t, "disabled account", answer(session, timChosen), "User is disabled.")
	set(false)
	wantStatus(t, e, timEmail, users.ForceChangePassword)
	if _, err := e.passwordAuth(timEmail, timChosen); err == nil {
		t.Fatal("the disabled account's new password was set")
	}
	if err := answer(session, timChosen); err != nil {
		t.Fatalf("same Session once enabled: %v", err)
	}
}

// TestNewPasswordRevokeFailure: the new password is set, and a failure to
// revoke the account's tokens afterwards is reported, not hidden.
func TestNewPasswordRevokeFailure(t *testing.T) {
	e, session, answer := newPasswordEnv(t)
	e.revokeFails.Store(true)
	wantAPIMessage[*types.InternalErrorException](t, "answer with a failing token store", answer(session, timChosen), "Internal error")
	e.revokeFails.Store(false)
	e.tokens(timEmail, timChosen)
}
