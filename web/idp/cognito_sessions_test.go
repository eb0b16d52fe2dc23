package idp

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/usersvc/usersvc/web/idp/users"
)

// TestEndSessionsFailure: when the refresh tokens cannot be revoked, the
// operations that promise it do not report success. Those that change a
// password have changed it (the new one signs in) and answer an internal
// error, so the client knows the old sessions may still be open.
func TestEndSessionsFailure(t *testing.T) {
	const newPassword = "N3w-password!"
	ctx := context.Background()
	cases := []struct {
		name string
		call func(e *apiEnv, email string, tok *types.AuthenticationResultType) error
		// signsIn is the password that works afterwards ("" when the
		// account cannot sign in by password any more).
		signsIn string
	}{
		{"GlobalSignOut", func(e *apiEnv, _ string, tok *types.AuthenticationResultType) error {
			_, err := e.anon.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: tok.AccessToken})
			return err
		}, testPassword},
		{"AdminUserGlobalSignOut", func(e *apiEnv, email string, _ *types.AuthenticationResultType) error {
			_, err := e.api.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: e.pool, Username: aws.String(email)})
			return err
		}, testPassword},
		{"ChangePassword", func(e *apiEnv, _ string, tok *types.AuthenticationResultType) error {
			_, err := e.anon.ChangePassword(ctx, &cip.ChangePasswordInput{AccessToken: tok.AccessToken,
				PreviousPassword: aws.String(testPassword), ProposedPassword: aws.String(newPassword)})
			return err
		}, newPassword},
		{"ConfirmForgotPassword", func(e *apiEnv, email string, _ *types.AuthenticationResultType) error {
			if _, err := e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(email)}); err != nil {
				e.t.Fatal(err)
			}
			_, err := e.anon.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(email),
				ConfirmationCode: aws.String(e.resetCode(email)), Password: aws.String(newPassword)})
			return err
		}, newPassword},
		{"AdminSetUserPassword", func(e *apiEnv, email string, _ *types.AuthenticationResultType) error {
			_, err := e.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: e.pool, Username: aws.String(email),
				Password: aws.String(newPassword), Permanent: true})
			return err
		}, newPassword},
		{"AdminDisableUser", func(e *apiEnv, email string, _ *types.AuthenticationResultType) error {
			_, err := e.api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: e.pool, Username: aws.String(email)})
			return err
		}, ""},
		{"DeleteUser", func(e *apiEnv, _ string, tok *types.AuthenticationResultType) error {
			_, err := e.anon.DeleteUser(ctx, &cip.DeleteUserInput{AccessToken: tok.AccessToken})
			return err
		}, testPassword}, // not deleted: the revocation comes first
		{"AdminResetUserPassword", func(e *apiEnv, email string, _ *types.AuthenticationResultType) error {
			_, err := e.api.AdminResetUserPassword(ctx, &cip.AdminResetUserPasswordInput{UserPoolId: e.pool, Username: aws.String(email)})
			return err
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newAPIEnv(t)
			const email = "carol@example.com"
			e.signUp(email, testPassword)
			tok := e.tokens(email, testPassword)
			e.revokeFails.Store(true)
			err := tc.call(e, email, tok)
			wantAPIMessage[*types.InternalErrorException](t, tc.name, err, "Internal error")
			e.revokeFails.Store(false)
			if tc.signsIn != "" {
				e.tokens(email, tc.signsIn)
			} else if _, err := e.passwordAuth(email, testPassword); err == nil {
				t.Fatal("the account still signs in with its old password")
			}
			// The refresh token was not revoked: what the error said.
			if _, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
				AuthParameters: map[string]string{"REFRESH_TOKEN": *tok.RefreshToken}}); err != nil && tc.signsIn != "" {
				t.Fatalf("refresh after the failed revocation: %v", err)
			}
		})
	}
}

// TestAdminResetUserPasswordPastMailLimits: the anonymous mail limits
// (per address, per client) do not stop an operator's signed
// AdminResetUserPassword; before, the call was refused after it had reset
// the account and revoked its tokens.
func TestAdminResetUserPasswordPastMailLimits(t *testing.T) {
	ctx := context.Background()
	for _, limit := range []string{"per address", "per client"} {
		t.Run(limit, func(t *testing.T) {
			e := newAPIEnv(t)
			const email = "dora@example.com"
			e.signUp(email, testPassword)
			tok := e.tokens(email, testPassword)
			forgot := func(name string) error {
				_, err := e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(name)})
				return err
			}
			// Until refused (the sign-up's mail counted too).
			refused := false
			for i := range MailPerClient + 1 {
				name := email
				if limit == "per client" {
					name = string(rune('a'+i)) + "@example.net"
				}
				if err := forgot(name); err != nil {
					wantAPIError[*types.LimitExceededException](t, "ForgotPassword past the limit", err)
					refused = true
					break
				}
			}
			if !refused {
				t.Fatal("ForgotPassword was never refused")
			}
			wantAPIError[*types.LimitExceededException](t, "ForgotPassword for the address", forgot(email))
			if _, err := e.api.AdminResetUserPassword(ctx, &cip.AdminResetUserPasswordInput{UserPoolId: e.pool, Username: aws.String(email)}); err != nil {
				t.Fatalf("AdminResetUserPassword: %v", err)
			}
			u, err := e.srv.Users().ByEmail(ctx, email)
			if err != nil || u.Status != users.ResetRequired {
				t.Fatalf("status %s, %v", u.Status, err)
			}
			_, err = e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: tok.AccessToken})
			wantAPIError[*types.NotAuthorizedException](t, "old access token", err)
			// The code mailed by the reset sets the new password.
			if _, err := e.anon.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(email),
				ConfirmationCode: aws.String(e.resetCode(email)), Password: aws.String("N3w-password!")}); err != nil {
				t.Fatalf("ConfirmForgotPassword with the mailed code: %v", err)
			}
			e.tokens(email, "N3w-password!")
		})
	}
}

// TestAdminResetUserPasswordRetry: a reset that failed part way (the
// tokens could not be revoked) is finished by calling it again: the
// account is reset, its tokens revoked and a code mailed.
func TestAdminResetUserPasswordRetry(t *testing.T) {
	ctx := context.Background()
	e := newAPIEnv(t)
	const email = "erin@example.com"
	e.signUp(email, testPassword)
	tok := e.tokens(email, testPassword)
	reset := func() error {
		_, err := e.api.AdminResetUserPassword(ctx, &cip.AdminResetUserPasswordInput{UserPoolId: e.pool, Username: aws.String(email)})
		return err
	}
	e.revokeFails.Store(true)
	wantAPIError[*types.InternalErrorException](t, "reset with a failing token store", reset())
	e.revokeFails.Store(false)
	if err := reset(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	_, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": *tok.RefreshToken}})
	wantAPIError[*types.NotAuthorizedException](t, "refresh after the reset", err)
	if _, err := e.anon.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(email),
		ConfirmationCode: aws.String(e.resetCode(email)), Password: aws.String("N3w-password!")}); err != nil {
		t.Fatalf("ConfirmForgotPassword with the mailed code: %v", err)
	}
}

// TestHostedEndSessionsFailure: the Hosted UI's pages that change a
// password do not say it went well when the tokens could not be revoked.
func TestHostedEndSessionsFailure(t *testing.T) {
	const newPassword = "N3w-password!"
	authorize := func(e *apiEnv, path string) string {
		return e.ts.URL + path + "?" + url.Values{"client_id": {"hosted"}, "redirect_uri": {callbackURL}, "response_type": {"code"},
			"scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}.Encode()
	}
	t.Run("reset", func(t *testing.T) {
		e := newAPIEnv(t)
		const email = "fred@example.com"
		e.signUp(email, testPassword)
		b := newBrowser(t)
		form := b.submit(b.get(authorize(e, "/forgotPassword")), url.Values{"username": {email}})
		e.revokeFails.Store(true)
		done := b.submit(form, url.Values{"username": {email}, "code": {e.resetCode(email)}, "password": {newPassword}, "confirmPassword": {newPassword}})
		if done.status != http.StatusInternalServerError || strings.Contains(done.body, "Password changed") {
			t.Fatalf("reset with a failing token store: %d\n%s", done.status, done.body)
		}
		e.revokeFails.Store(false)
		e.tokens(email, newPassword)
	})
	t.Run("change temporary password", func(t *testing.T) {
		e := newAPIEnv(t)
		const email = "gina@example.com"
		if _, err := e.api.AdminCreateUser(context.Background(), &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String(email),
			TemporaryPassword: aws.String("Temp0rary-pw"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		b.follow = false
		page := b.submit(b.get(authorize(e, "/login")), url.Values{"username": {email}, "password": {"Temp0rary-pw"}})
		session := regexp.MustCompile(`name="session" value="([^"]+)"`).FindStringSubmatch(page.body)
		if session == nil {
			t.Fatalf("no Change password page:\n%s", page.body)
		}
		e.revokeFails.Store(true)
		done := b.submit(page, url.Values{"session": {html.UnescapeString(session[1])}, "password": {newPassword}, "confirmPassword": {newPassword}})
		if done.status != http.StatusInternalServerError || done.header.Get("Location") != "" {
			t.Fatalf("change with a failing token store: %d %s\n%s", done.status, done.header.Get("Location"), done.body)
		}
		e.revokeFails.Store(false)
		e.tokens(email, newPassword)
	})
}
