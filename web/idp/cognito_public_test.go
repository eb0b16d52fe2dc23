package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/go-jose/go-jose/v4"

	"github.com/usersvc/usersvc/web/idp/keys"
	"github.com/usersvc/usersvc/web/idp/users"
)

// TestAPISignUpToTokens: sign up, confirm with the mailed link's code,
// sign in by password, read the account, and find the same account on the
// Hosted UI (one store for both).
func TestAPISignUpToTokens(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	const email = "ana@example.com"
	out, err := e.anon.SignUp(ctx, &cip.SignUpInput{
		ClientId: aws.String("app"), Username: aws.String(email), Password: aws.String(testPassword),
		UserAttributes: []types.AttributeType{{Name: aws.String("name"), Value: aws.String("Ana")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.UserConfirmed || len(*out.UserSub) != 36 || *out.CodeDeliveryDetails.Destination != "a***@e***" {
		t.Fatalf("SignUp = %+v %+v", out, out.CodeDeliveryDetails)
	}
	if _, err := e.passwordAuth(email, testPassword); err == nil {
		t.Fatal("an unconfirmed account signed in")
	} else {
		wantAPIError[*types.UserNotConfirmedException](t, "unconfirmed sign-in", err)
	}
	_, err = e.anon.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String("app"), Username: aws.String(email), ConfirmationCode: aws.String("wrong")})
	wantAPIError[*types.CodeMismatchException](t, "wrong code", err)
	code := e.confirmCode(email)
	if _, err := e.anon.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String("app"), Username: aws.String(email), ConfirmationCode: aws.String(code)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.anon.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String("app"), Username: aws.String(email), ConfirmationCode: aws.String(code)})
	wantAPIError[*types.NotAuthorizedException](t, "confirm twice", err)

	res := e.tokens(email, testPassword)
	if *res.TokenType != "Bearer" || res.ExpiresIn != 3600 || *res.RefreshToken == "" || *res.IdToken == "" {
		t.Fatalf("tokens %+v", res)
	}
	claims := jwtClaims(t, *res.AccessToken)
	if claims["scope"] != adminScope || claims["client_id"] != "app" || claims["token_use"] != "access" || claims["iss"] != e.srv.Issuer() {
		t.Fatalf("access token claims %v", claims)
	}
	if id := jwtClaims(t, *res.IdToken); id["aud"] != "app" || id["email"] != email || id["cognito:username"] != *out.UserSub {
		t.Fatalf("ID token claims %v", id)
	}
	got, err := e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range got.UserAttributes {
		attrs[*a.Name] = *a.Value
	}
	if *got.Username != *out.UserSub || attrs["email"] != email || attrs["email_verified"] != "true" || attrs["name"] != "Ana" || attrs["sub"] != *out.UserSub {
		t.Fatalf("GetUser = %s %v", *got.Username, attrs)
	}
	if _, err := e.hostedSignIn(email, testPassword); err != nil {
		t.Fatalf("Hosted UI sign-in of an API account: %v", err)
	}

	// And the other way round: a Hosted UI account (the seeded admin)
	// signs in through the API.
	e.tokens(adminEmail, adminPass)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwtClaims decodes a token's payload without checking it (the checks are
// the provider's, tested elsewhere).
func jwtClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAPISignInErrors: each refusal of a sign-in is the SDK's typed error.
func TestAPISignInErrors(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	e.signUp("bo@example.com", testPassword)
	pw := func(client, user, pass string) *cip.InitiateAuthInput {
		return &cip.InitiateAuthInput{ClientId: aws.String(client), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": pass}}
	}
	withHash := func(in *cip.InitiateAuthInput, h *string) *cip.InitiateAuthInput {
		in.AuthParameters["SECRET_HASH"] = *h
		return in
	}
	for _, c := range []struct {
		name  string
		in    *cip.InitiateAuthInput
		check func(testing.TB, string, error)
	}{
		{"wrong password", pw("app", "bo@example.com", "Wr0ng-password"), wantAPIError[*types.NotAuthorizedException]},
		{"unknown user, existence errors prevented", pw("app", "nobody@example.com", testPassword), wantAPIError[*types.NotAuthorizedException]},
		{"unknown user, legacy", pw("legacy", "nobody@example.com", testPassword), wantAPIError[*types.UserNotFoundException]},
		{"unknown client", pw("nope", "bo@example.com", testPassword), wantAPIError[*types.ResourceNotFoundException]},
		{"flow not enabled", pw("srponly", "bo@example.com", testPassword), wantAPIError[*types.InvalidParameterException]},
		{"no SECRET_HASH", pw("conf", "bo@example.com", testPassword), wantAPIError[*types.NotAuthorizedException]},
		{"SECRET_HASH of another name", withHash(pw("conf", "bo@example.com", testPassword), secretHash("other@example.com")), wantAPIError[*types.NotAuthorizedException]},
		{"no password", &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": "bo@example.com"}}, wantAPIError[*types.InvalidParameterException]},
		{"unknown flow", &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: "MAGIC", AuthParameters: map[string]string{}}, wantAPIError[*types.InvalidParameterException]},
		{"admin flow on the public operation", &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": "bo@example.com", "PASSWORD": testPassword}}, wantAPIError[*types.InvalidParameterException]},
		{"bad refresh token", &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeRefreshTokenAuth, AuthParameters: map[string]string{"REFRESH_TOKEN": "nope"}}, wantAPIError[*types.NotAuthorizedException]},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.anon.InitiateAuth(ctx, c.in)
			c.check(t, c.name, err)
		})
	}
	// With the right SECRET_HASH, the confidential client signs in.
	if _, err := e.anon.InitiateAuth(ctx, withHash(pw("conf", "bo@example.com", testPassword), secretHash("bo@example.com"))); err != nil {
		t.Fatal(err)
	}
}

// TestAPISignUpErrors covers SignUp's and the code operations' refusals.
func TestAPISignUpErrors(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	e.signUp("taken@example.com", testPassword)
	su := func(mod func(*cip.SignUpInput)) error {
		in := &cip.SignUpInput{ClientId: aws.String("app"), Username: aws.String("new@example.com"), Password: aws.String(testPassword)}
		mod(in)
		_, err := e.anon.SignUp(ctx, in)
		return err
	}
	wantAPIError[*types.UsernameExistsException](t, "taken", su(func(in *cip.SignUpInput) { in.Username = aws.String("Taken@Example.com") }))
	wantAPIError[*types.InvalidPasswordException](t, "weak", su(func(in *cip.SignUpInput) { in.Password = aws.String("short") }))
	wantAPIError[*types.InvalidParameterException](t, "not an email", su(func(in *cip.SignUpInput) { in.Username = aws.String("bob") }))
	wantAPIError[*types.InvalidParameterException](t, "unknown attribute", su(func(in *cip.SignUpInput) {
		in.UserAttributes = []types.AttributeType{{Name: aws.String("shoe_size"), Value: aws.String("42")}}
	}))
	wantAPIError[*types.NotAuthorizedException](t, "email_verified by a user", su(func(in *cip.SignUpInput) {
		in.UserAttributes = []types.AttributeType{{Name: aws.String("email_verified"), Value: aws.String("true")}}
	}))
	wantAPIError[*types.NotAuthorizedException](t, "confidential client without SECRET_HASH", su(func(in *cip.SignUpInput) { in.ClientId = aws.String("conf") }))
	wantAPIError[*types.ResourceNotFoundException](t, "unknown client", su(func(in *cip.SignUpInput) { in.ClientId = aws.String("nope") }))
	if err := su(func(in *cip.SignUpInput) {
		in.ClientId, in.SecretHash = aws.String("conf"), secretHash("new@example.com")
	}); err != nil {
		t.Fatalf("confidential client with SECRET_HASH: %v", err)
	}
	// Pending: a second sign-up of the unconfirmed address is refused and
	// changes nothing (issue 13, point 4).
	wantAPIError[*types.UsernameExistsException](t, "pending", su(func(in *cip.SignUpInput) { in.Password = aws.String("Att4cker-pw") }))

	_, err := e.anon.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String("app"), Username: aws.String("taken@example.com")})
	wantAPIError[*types.InvalidParameterException](t, "resend to a confirmed account", err)
	if _, err := e.anon.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String("app"), Username: aws.String("new@example.com")}); err != nil {
		t.Fatal(err)
	}
	if out, err := e.anon.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String("app"), Username: aws.String("ghost@example.com")}); err != nil || out.CodeDeliveryDetails == nil {
		t.Fatalf("resend to an unknown address (existence errors prevented): %v", err)
	}
	_, err = e.anon.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String("legacy"), Username: aws.String("ghost@example.com")})
	wantAPIError[*types.UserNotFoundException](t, "resend to an unknown address (legacy)", err)
	_, err = e.anon.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String("app"), Username: aws.String("ghost@example.com"), ConfirmationCode: aws.String("123456")})
	wantAPIError[*types.CodeMismatchException](t, "confirm an unknown address", err)

	// The resent code works; the attacker's password does not.
	code := e.confirmCode("new@example.com")
	e.clock.Advance(25 * time.Hour)
	_, err = e.anon.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String("legacy"), Username: aws.String("new@example.com"), ConfirmationCode: aws.String(code)})
	wantAPIError[*types.ExpiredCodeException](t, "expired code (legacy)", err)
	// Existence errors prevented: the answer of an unknown name, whose
	// code can only be wrong.
	_, err = e.anon.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String("app"), Username: aws.String("new@example.com"), ConfirmationCode: aws.String(code)})
	wantAPIError[*types.CodeMismatchException](t, "expired code", err)
}

// TestAPIConcurrentSignUp: of many sign-ups of one address at once,
// exactly one wins.
func TestAPIConcurrentSignUp(t *testing.T) {
	e := newAPIEnv(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.anon.SignUp(context.Background(), &cip.SignUpInput{
				ClientId: aws.String("app"), Username: aws.String("race@example.com"), Password: aws.String(testPassword),
			})
		}()
	}
	wg.Wait()
	// The losers are told the address is taken, or (past the mail limit
	// per address, which counts every sign-up that could mail) to wait.
	won, taken := 0, 0
	for _, err := range errs {
		var limit *types.LimitExceededException
		switch {
		case err == nil:
			won++
		case errors.As(err, &limit):
		default:
			wantAPIError[*types.UsernameExistsException](t, "losing sign-up", err)
			taken++
		}
	}
	if won != 1 || taken == 0 {
		t.Fatalf("%d sign-ups won and %d were told the address is taken; want 1 and some", won, taken)
	}
}

// TestAPITokenOperations: refresh, attributes, password change, sign-out,
// revocation and deletion, and the refusals of tokens that must not work.
func TestAPITokenOperations(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	const email = "cy@example.com"
	e.signUp(email, testPassword)
	res := e.tokens(email, testPassword)

	ref, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": *res.RefreshToken}})
	if err != nil || ref.AuthenticationResult.AccessToken == nil || ref.AuthenticationResult.RefreshToken != nil {
		t.Fatalf("refresh: %+v, %v", ref, err)
	}
	_, err = e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("legacy"), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": *res.RefreshToken}})
	wantAPIError[*types.NotAuthorizedException](t, "refresh token of another client", err)

	_, err = e.anon.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken,
		UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Cy")}, {Name: aws.String("custom:team"), Value: aws.String("blue")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.anon.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(adminEmail)}}})
	wantAPIError[*types.AliasExistsException](t, "email of another account", err)
	u, _ := e.srv.Users().ByEmail(ctx, email)
	if u.Attributes["given_name"] != "Cy" || u.Attributes["custom:team"] != "blue" {
		t.Fatalf("attributes %v", u.Attributes)
	}

	_, err = e.anon.ChangePassword(ctx, &cip.ChangePasswordInput{AccessToken: res.AccessToken, PreviousPassword: aws.String("Wr0ng-password"), ProposedPassword: aws.String("N3w-password")})
	wantAPIError[*types.NotAuthorizedException](t, "change with a wrong password", err)
	_, err = e.anon.ChangePassword(ctx, &cip.ChangePasswordInput{AccessToken: res.AccessToken, PreviousPassword: aws.String(testPassword), ProposedPassword: aws.String("weak")})
	wantAPIError[*types.InvalidPasswordException](t, "change to a weak password", err)
	if _, err := e.anon.ChangePassword(ctx, &cip.ChangePasswordInput{AccessToken: res.AccessToken, PreviousPassword: aws.String(testPassword), ProposedPassword: aws.String("N3w-password")}); err != nil {
		t.Fatal(err)
	}
	// The change ended what the old password opened (issue 13, point 5).
	_, err = e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, "access token after a password change", err)
	_, err = e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": *res.RefreshToken}})
	wantAPIError[*types.NotAuthorizedException](t, "refresh token after a password change", err)
	if _, err := e.passwordAuth(email, testPassword); err == nil {
		t.Fatal("old password works")
	}

	res = e.tokens(email, "N3w-password")
	if _, err := e.anon.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: res.AccessToken}); err != nil {
		t.Fatal(err)
	}
	_, err = e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, "access token after GlobalSignOut", err)

	res = e.tokens(email, "N3w-password")
	_, err = e.anon.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String("legacy"), Token: res.RefreshToken})
	wantAPIError[*types.UnauthorizedException](t, "revoke another client's token", err)
	_, err = e.anon.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String("app"), Token: res.AccessToken})
	wantAPIError[*types.UnsupportedTokenTypeException](t, "revoke an access token", err)
	if _, err := e.anon.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String("app"), Token: res.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	_, err = e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, "access token of a revoked refresh token", err)

	// Tokens that never work: a Hosted UI token without the admin scope,
	// an expired one, one of another pool, garbage.
	hosted, err := e.hostedSignIn(email, "N3w-password")
	if err != nil {
		t.Fatal(err)
	}
	// Another pool's token, signed with this provider's own keys and
	// naming an account this pool has, differs in its issuer alone: a
	// token of an unknown key, or of an account the pool does not have,
	// would be refused whether or not the issuer is checked.
	other := newAPIEnvPool(t, "us-east-1_Other")
	res = e.tokens(email, "N3w-password")
	var claims accessClaims
	if err := json.Unmarshal(mustJSON(t, jwtClaims(t, *res.AccessToken)), &claims); err != nil {
		t.Fatal(err)
	}
	resign := func(iss string) string {
		claims.Iss = iss
		tok, err := other.srv.sign(keys.UseAccess, claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	foreign := resign(other.srv.Issuer())
	if _, err := e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(resign(e.srv.Issuer()))}); err != nil {
		t.Fatalf("the re-signed token with this pool's issuer is refused (so the test below proves nothing): %v", err)
	}
	for name, tok := range map[string]string{"Hosted UI token": hosted.AccessToken, "another pool's": foreign, "garbage": "e30.e30.e30", "an ID token": *res.IdToken} {
		_, err := e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(tok)})
		wantAPIError[*types.NotAuthorizedException](t, name, err)
	}
	e.clock.Advance(61 * time.Minute)
	_, err = e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, "expired access token", err)

	res = e.tokens(email, "N3w-password")
	if _, err := e.anon.DeleteUser(ctx, &cip.DeleteUserInput{AccessToken: res.AccessToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.passwordAuth(email, "N3w-password"); err == nil {
		t.Fatal("a deleted account signs in")
	}
	_, err = e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, "token of a deleted account", err)
}

// newAPIEnvPool is newAPIEnv for another pool id (and so another issuer).
func newAPIEnvPool(t testing.TB, pool string) *apiEnv {
	e := newAPIEnv(t)
	dir := t.TempDir()
	seedKeys(t, dir) // the same keys as e's provider
	other, err := New(Config{
		URL: e.ts.URL, PoolID: pool, DataDir: dir, Clients: apiClients(),
		Now: e.clock.Now, PasswordCost: users.TestCost, AccessKeyID: apiKeyID, SecretAccessKey: apiSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	other.pace.sleep = func(context.Context, time.Duration) {}
	e.srv.Close()
	e.srv = other
	e.ts.Config.Handler = other.Handler()
	return e
}

// TestAPIForgotPassword: a reset by code, and that it ends the account's
// refresh tokens and Hosted UI sessions (issue 13, point 5, as the
// attack: a thief holding a refresh token keeps nothing after the owner
// resets the password).
func TestAPIForgotPassword(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	const email = "di@example.com"
	e.signUp(email, testPassword)
	stolen := e.tokens(email, testPassword)
	hosted, err := e.hostedSignIn(email, testPassword)
	if err != nil {
		t.Fatal(err)
	}

	out, err := e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(email)})
	if err != nil || out.CodeDeliveryDetails.DeliveryMedium != types.DeliveryMediumTypeEmail {
		t.Fatalf("ForgotPassword: %+v %v", out, err)
	}
	if _, err := e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String("ghost@example.com")}); err != nil {
		t.Fatalf("ForgotPassword of an unknown address (existence errors prevented): %v", err)
	}
	_, err = e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("legacy"), Username: aws.String("ghost@example.com")})
	wantAPIError[*types.UserNotFoundException](t, "ForgotPassword of an unknown address (legacy)", err)
	code := e.resetCode(email)
	cfp := func(code, password string) error {
		_, err := e.anon.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("app"),
			Username: aws.String(email), ConfirmationCode: aws.String(code), Password: aws.String(password)})
		return err
	}
	wantAPIError[*types.InvalidPasswordException](t, "weak new password", cfp(code, "weak"))
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantAPIError[*types.CodeMismatchException](t, "wrong code", cfp(wrong, "N3w-password"))
	if err := cfp(code, "N3w-password"); err != nil {
		t.Fatal(err)
	}
	// A used code is like a wrong one where existence errors are
	// prevented, expired for a legacy client.
	wantAPIError[*types.CodeMismatchException](t, "used code", cfp(code, "An0ther-password"))
	_, err = e.anon.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("legacy"),
		Username: aws.String(email), ConfirmationCode: aws.String(code), Password: aws.String("An0ther-password")})
	wantAPIError[*types.ExpiredCodeException](t, "used code (legacy)", err)

	_, err = e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": *stolen.RefreshToken}})
	wantAPIError[*types.NotAuthorizedException](t, "API refresh token after a reset", err)
	if _, err := refreshAt(e, "hosted", hosted.RefreshToken); err == nil {
		t.Fatal("Hosted UI refresh token works after a reset")
	}
	e.srv.mu.Lock()
	for _, s := range e.srv.sessions {
		if u, _ := e.srv.users.ByEmail(ctx, email); s.sub == u.Sub {
			t.Error("a Hosted UI session of the account survived the reset")
		}
	}
	e.srv.mu.Unlock()
	e.tokens(email, "N3w-password")
}

// refreshAt exchanges a refresh token at /oauth2/token.
func refreshAt(e *apiEnv, clientID, token string) (int, error) {
	resp, err := e.ts.Client().PostForm(e.ts.URL+"/oauth2/token", map[string][]string{
		"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {token},
	})
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, errStatus(resp.StatusCode)
	}
	return 200, nil
}

type errStatus int

func (e errStatus) Error() string { return fmt.Sprintf("status %d", int(e)) }

// TestAPILimits: the Hosted UI's limits hold on the API too, in Cognito's
// exceptions: a full hashing queue is TooManyRequestsException (and counts
// no failure), too much mail for one address LimitExceededException, for
// addresses with and without accounts alike.
func TestAPILimits(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	e.signUp("ida@example.com", testPassword)
	restore := users.SetHashLimit(0, 0)
	_, err := e.passwordAuth("ida@example.com", testPassword)
	wantAPIError[*types.TooManyRequestsException](t, "sign-in with no hashing slot", err)
	restore()
	e.tokens("ida@example.com", testPassword)

	for _, email := range []string{"ida@example.com", "ghost@example.com"} {
		var err error
		for range MailPerAddress + 1 {
			_, err = e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(email)})
		}
		wantAPIError[*types.LimitExceededException](t, "ForgotPassword past the mail limit for "+email, err)
	}
}

// TestAPIRefreshAcrossEndpoints: a refresh token works wherever Cognito's
// does: one from the Hosted UI with REFRESH_TOKEN_AUTH, one from the API
// at /oauth2/token (which then returns an ID token too).
func TestAPIRefreshAcrossEndpoints(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	e.signUp("jo@example.com", testPassword)
	hosted, err := e.hostedSignIn("jo@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("hosted"), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": hosted.RefreshToken}})
	if err != nil || out.AuthenticationResult.IdToken == nil {
		t.Fatalf("Hosted UI refresh token through the API: %+v %v", out, err)
	}
	// Its access token has the Hosted UI's scopes, not the API's.
	_, err = e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: out.AuthenticationResult.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, "GetUser with OAuth scopes only", err)

	api := e.tokens("jo@example.com", testPassword)
	resp, err := e.ts.Client().PostForm(e.ts.URL+"/oauth2/token", map[string][]string{
		"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {*api.RefreshToken},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok map[string]any
	json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != 200 || tok["id_token"] == nil || tok["access_token"] == nil {
		t.Fatalf("API refresh token at /oauth2/token: %d %v", resp.StatusCode, tok)
	}
	if _, err := e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(tok["access_token"].(string))}); err != nil {
		t.Fatalf("GetUser with the refreshed token: %v", err)
	}
}
