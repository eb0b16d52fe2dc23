package idp

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/usersvc/usersvc/web/idp/users"
)

// TestAPISignatureRefusals: admin operations refuse what AWS refuses, and
// a refused call changes nothing.
func TestAPISignatureRefusals(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	create := func(c *cip.Client, email string) error {
		_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String(email), MessageAction: types.MessageActionTypeSuppress})
		return err
	}
	wrongRegion := cip.New(cip.Options{Region: "eu-west-1", BaseEndpoint: aws.String(e.ts.URL), HTTPClient: e.ts.Client(), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(apiKeyID, apiSecret, "")})
	for _, c := range []struct {
		name   string
		client *cip.Client
		code   string
	}{
		{"unsigned", e.anon, "MissingAuthenticationTokenException"},
		{"wrong secret", e.client(credentials.NewStaticCredentialsProvider(apiKeyID, "not-the-secret", "")), "InvalidSignatureException"},
		{"unknown key id", e.client(credentials.NewStaticCredentialsProvider("AKIDOTHER", apiSecret, "")), "UnrecognizedClientException"},
		{"another region", wrongRegion, "InvalidSignatureException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			email := strings.ReplaceAll(c.name, " ", "-") + "@example.com"
			wantCode(t, c.name, create(c.client, email), c.code)
			if _, err := e.srv.Users().ByEmail(ctx, email); err == nil {
				t.Fatal("a refused call created the user")
			}
		})
	}
	// A request signed 10 minutes ago (the provider's clock moved on).
	e.clock.Advance(10 * time.Minute)
	defer e.clock.Advance(-10 * time.Minute)
	wantCode(t, "stale X-Amz-Date", create(e.client(credentials.NewStaticCredentialsProvider(apiKeyID, apiSecret, "")), "stale@example.com"), "InvalidSignatureException")
}

// TestAPIAdminCreateUser: a temporary password by mail, FORCE_CHANGE_PASSWORD,
// NEW_PASSWORD_REQUIRED from the API and the Change password page from the
// Hosted UI.
func TestAPIAdminCreateUser(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	out, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String("new@example.com"),
		UserAttributes: []types.AttributeType{{Name: aws.String("email_verified"), Value: aws.String("true")}, {Name: aws.String("name"), Value: aws.String("New")}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.User.UserStatus != types.UserStatusTypeForceChangePassword || !out.User.Enabled {
		t.Fatalf("created %+v", out.User)
	}
	temp := tempPassword(t, e, "new@example.com")
	_, err = e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String("new@example.com")})
	wantAPIError[*types.UsernameExistsException](t, "create twice", err)

	init, err := e.passwordAuth("new@example.com", temp)
	if err != nil || init.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || init.Session == nil {
		t.Fatalf("sign-in with the temporary password: %+v, %v", init, err)
	}
	respond := func(session *string, pw string) (*cip.RespondToAuthChallengeOutput, error) {
		return e.anon.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"),
			ChallengeName: types.ChallengeNameTypeNewPasswordRequired, Session: session,
			ChallengeResponses: map[string]string{"USERNAME": "new@example.com", "NEW_PASSWORD": pw}})
	}
	_, err = respond(init.Session, "weak")
	wantAPIError[*types.InvalidPasswordException](t, "weak new password", err)
	init, _ = e.passwordAuth("new@example.com", temp)
	res, err := respond(init.Session, "Ch0sen-password")
	if err != nil || res.AuthenticationResult == nil {
		t.Fatalf("new password: %+v, %v", res, err)
	}
	_, err = respond(init.Session, "Ch0sen-password2")
	wantAPIError[*types.NotAuthorizedException](t, "session used twice", err)
	e.tokens("new@example.com", "Ch0sen-password")

	// MessageAction: SUPPRESS mails nothing; RESEND mails a new password.
	before, _ := e.srv.Outbox().List()
	if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String("quiet@example.com"),
		TemporaryPassword: aws.String("Temp0rary-pw"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.srv.Outbox().List(); len(after) != len(before) {
		t.Fatal("SUPPRESS mailed")
	}
	if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String("quiet@example.com"),
		MessageAction: types.MessageActionTypeResend}); err != nil {
		t.Fatal(err)
	}
	temp = tempPassword(t, e, "quiet@example.com")
	_, err = e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String("nobody@example.com"), MessageAction: types.MessageActionTypeResend})
	wantAPIError[*types.UserNotFoundException](t, "RESEND to nobody", err)
	_, err = e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String("weak@example.com"), TemporaryPassword: aws.String("weak")})
	wantAPIError[*types.InvalidPasswordException](t, "weak temporary password", err)
	_, err = e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String("us-east-1_Nope"), Username: aws.String("x@example.com")})
	wantAPIError[*types.ResourceNotFoundException](t, "another pool", err)

	// The Hosted UI asks for a new password at first sign-in.
	b := newBrowser(t)
	loginURL := e.ts.URL + "/login?" + url.Values{"client_id": {"hosted"}, "redirect_uri": {callbackURL}, "response_type": {"code"},
		"scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}.Encode()
	page := b.submit(b.get(loginURL), url.Values{"username": {"quiet@example.com"}, "password": {temp}})
	mustContain(t, page, "<h1>Change password</h1>")
	mustContain(t, page, `<label for="password">New password</label>`)
	// The new password ends the sign-in with a redirect to the callback,
	// which Chromium checks against form-action: the page must allow it
	// (a real browser aborted the redirect when it did not).
	if cb, _ := url.Parse(callbackURL); !strings.Contains(page.header.Get("Content-Security-Policy"), "form-action 'self' "+cb.Scheme+"://"+cb.Host) {
		t.Errorf("Change password page CSP %q does not allow the callback's origin in form-action", page.header.Get("Content-Security-Policy"))
	}
	b.follow = false
	session := regexp.MustCompile(`name="session" value="([^"]+)"`).FindStringSubmatch(page.body)
	if session == nil {
		t.Fatal("no session field on the Change password page")
	}
	done := b.submit(page, url.Values{"session": {html.UnescapeString(session[1])}, "password": {"Ch0sen-password"}, "confirmPassword": {"Ch0sen-password"}})
	if done.status != http.StatusFound || !strings.HasPrefix(done.header.Get("Location"), callbackURL+"?code=") {
		t.Fatalf("after Change password: %d %s\n%s", done.status, done.header.Get("Location"), done.body)
	}
	if u, _ := e.srv.Users().ByEmail(ctx, "quiet@example.com"); u.Status != users.Confirmed {
		t.Fatalf("status after Change password: %s", u.Status)
	}
}

var tempPasswordRE = regexp.MustCompile(`temporary password is\s+(\S+)`)

func tempPassword(t testing.TB, e *apiEnv, email string) string {
	t.Helper()
	m, err := e.srv.Outbox().Latest(email)
	if err != nil {
		t.Fatal(err)
	}
	p := tempPasswordRE.FindStringSubmatch(m.Body)
	if p == nil {
		t.Fatalf("no temporary password in %q", m.Body)
	}
	return p[1]
}

// TestAPIAdminAccountStates: disable, enable, confirm, set and reset
// passwords, attributes, sign-out and deletion, as an administrator.
func TestAPIAdminAccountStates(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	const email = "eve@example.com"
	sub := e.signUp(email, testPassword)
	user := func() *cip.AdminGetUserOutput {
		t.Helper()
		out, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: e.pool, Username: aws.String(email)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if u := user(); *u.Username != sub || u.UserStatus != types.UserStatusTypeConfirmed || !u.Enabled {
		t.Fatalf("AdminGetUser %+v", u)
	}
	_, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: e.pool, Username: aws.String("nobody@example.com")})
	wantAPIError[*types.UserNotFoundException](t, "AdminGetUser of nobody", err)

	// Disabled: no sign-in anywhere, and the refresh tokens stop working.
	res := e.tokens(email, testPassword)
	hosted, err := e.hostedSignIn(email, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: e.pool, Username: aws.String(email)}); err != nil {
		t.Fatal(err)
	}
	if user().Enabled {
		t.Fatal("still enabled")
	}
	_, err = e.passwordAuth(email, testPassword)
	wantAPIError[*types.NotAuthorizedException](t, "API sign-in of a disabled user", err)
	if _, err := e.hostedSignIn(email, testPassword); err == nil {
		t.Fatal("Hosted UI sign-in of a disabled user")
	}
	_, err = e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": *res.RefreshToken}})
	wantAPIError[*types.NotAuthorizedException](t, "API refresh of a disabled user", err)
	if _, err := refreshAt(e, "hosted", hosted.RefreshToken); err == nil {
		t.Fatal("/oauth2/token refresh of a disabled user")
	}
	_, err = e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, "GetUser of a disabled user", err)
	if _, err := e.api.AdminEnableUser(ctx, &cip.AdminEnableUserInput{UserPoolId: e.pool, Username: aws.String(email)}); err != nil {
		t.Fatal(err)
	}
	e.tokens(email, testPassword)

	// AdminSetUserPassword: temporary, then permanent.
	set := func(pw string, permanent bool) {
		t.Helper()
		if _, err := e.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: e.pool, Username: aws.String(sub), Password: aws.String(pw), Permanent: permanent}); err != nil {
			t.Fatal(err)
		}
	}
	set("Temp0rary-pw", false)
	if out, _ := e.passwordAuth(email, "Temp0rary-pw"); out == nil || out.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
		t.Fatalf("temporary password set by an admin: %+v", out)
	}
	set("Perm4nent-pw", true)
	e.tokens(email, "Perm4nent-pw")
	_, err = e.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: e.pool, Username: aws.String(email), Password: aws.String("weak")})
	wantAPIError[*types.InvalidPasswordException](t, "weak admin password", err)

	// AdminResetUserPassword: the password stops working; a mailed code
	// sets a new one.
	if _, err := e.api.AdminResetUserPassword(ctx, &cip.AdminResetUserPasswordInput{UserPoolId: e.pool, Username: aws.String(email)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.passwordAuth(email, "Perm4nent-pw")
	wantAPIError[*types.PasswordResetRequiredException](t, "sign-in after an admin reset", err)
	if _, err := e.anon.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(email),
		ConfirmationCode: aws.String(e.resetCode(email)), Password: aws.String("Res3t-password")}); err != nil {
		t.Fatal(err)
	}
	e.tokens(email, "Res3t-password")

	// Attributes, sign-out.
	if _, err := e.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: e.pool, Username: aws.String(email),
		UserAttributes: []types.AttributeType{{Name: aws.String("family_name"), Value: aws.String("Doe")}}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: e.pool, Username: aws.String(email),
		UserAttributes: []types.AttributeType{{Name: aws.String("sub"), Value: aws.String("x")}}})
	wantAPIError[*types.InvalidParameterException](t, "change sub", err)
	res = e.tokens(email, "Res3t-password")
	if _, err := e.api.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: e.pool, Username: aws.String(email)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.anon.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, "token after AdminUserGlobalSignOut", err)

	// AdminInitiateAuth.
	ai, err := e.api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: e.pool, ClientId: aws.String("app"),
		AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": "Res3t-password"}})
	if err != nil || ai.AuthenticationResult == nil {
		t.Fatalf("AdminInitiateAuth: %+v %v", ai, err)
	}
	_, err = e.api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: e.pool, ClientId: aws.String("srponly"),
		AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": "Res3t-password"}})
	wantAPIError[*types.InvalidParameterException](t, "AdminInitiateAuth on a client without the flow", err)

	// AdminConfirmSignUp of an unconfirmed account.
	if _, err := e.anon.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String("app"), Username: aws.String("pending@example.com"), Password: aws.String(testPassword)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: e.pool, Username: aws.String("pending@example.com")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.api.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: e.pool, Username: aws.String("pending@example.com")})
	wantAPIError[*types.NotAuthorizedException](t, "confirm twice", err)
	e.tokens("pending@example.com", testPassword)

	// Deletion.
	if _, err := e.api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: e.pool, Username: aws.String(email)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: e.pool, Username: aws.String(email)})
	wantAPIError[*types.UserNotFoundException](t, "AdminGetUser after AdminDeleteUser", err)
}

// TestAPIGroupsAndPool: groups, and the pool's and clients' descriptions.
func TestAPIGroupsAndPool(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	e.signUp("fay@example.com", testPassword)
	member := func(in bool) {
		t.Helper()
		var err error
		if in {
			_, err = e.api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: e.pool, Username: aws.String("fay@example.com"), GroupName: aws.String(users.AdminGroup)})
		} else {
			_, err = e.api.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{UserPoolId: e.pool, Username: aws.String("fay@example.com"), GroupName: aws.String(users.AdminGroup)})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	member(true)
	gs, err := e.api.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: e.pool, Username: aws.String("fay@example.com")})
	if err != nil || len(gs.Groups) != 1 || *gs.Groups[0].GroupName != users.AdminGroup {
		t.Fatalf("AdminListGroupsForUser: %+v %v", gs, err)
	}
	if claims := jwtClaims(t, *e.tokens("fay@example.com", testPassword).AccessToken); fmt.Sprint(claims["cognito:groups"]) != "[admins]" {
		t.Fatalf("groups claim %v", claims["cognito:groups"])
	}
	in, err := e.api.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: e.pool, GroupName: aws.String(users.AdminGroup)})
	if err != nil || len(in.Users) != 2 { // the seeded admin and fay
		t.Fatalf("ListUsersInGroup: %d users, %v", len(in.Users), err)
	}
	member(false)
	if gs, _ := e.api.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: e.pool, Username: aws.String("fay@example.com")}); len(gs.Groups) != 0 {
		t.Fatalf("still in %+v", gs.Groups)
	}
	_, err = e.api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: e.pool, Username: aws.String("fay@example.com"), GroupName: aws.String("nope")})
	wantAPIError[*types.ResourceNotFoundException](t, "unknown group", err)
	_, err = e.api.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: e.pool, GroupName: aws.String("nope")})
	wantAPIError[*types.ResourceNotFoundException](t, "GetGroup of an unknown group", err)
	if g, err := e.api.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: e.pool, GroupName: aws.String(users.AdminGroup)}); err != nil || *g.Group.UserPoolId != apiPool {
		t.Fatalf("GetGroup: %+v %v", g, err)
	}
	if lg, err := e.api.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: e.pool}); err != nil || len(lg.Groups) != 1 {
		t.Fatalf("ListGroups: %+v %v", lg, err)
	}

	p, err := e.api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: e.pool})
	if err != nil || *p.UserPool.Id != apiPool || p.UserPool.EstimatedNumberOfUsers != 2 || p.UserPool.UsernameAttributes[0] != types.UsernameAttributeTypeEmail {
		t.Fatalf("DescribeUserPool: %+v %v", p, err)
	}
	c, err := e.api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: e.pool, ClientId: aws.String("conf")})
	if err != nil || *c.UserPoolClient.ClientSecret != apiConfSec || len(c.UserPoolClient.ExplicitAuthFlows) != 4 {
		t.Fatalf("DescribeUserPoolClient: %+v %v", c, err)
	}
	_, err = e.api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: e.pool, ClientId: aws.String("nope")})
	wantAPIError[*types.ResourceNotFoundException](t, "unknown client", err)
	lc, err := e.api.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: e.pool})
	if err != nil || len(lc.UserPoolClients) != len(apiClients()) {
		t.Fatalf("ListUserPoolClients: %+v %v", lc, err)
	}
}

// TestAPIListUsers: filters and pagination over 1,000 accounts.
func TestAPIListUsers(t *testing.T) {
	const n = 1000
	e := newAPIEnvWith(t, func(dir string) {
		s, err := users.Open(dir, users.TestCost, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for i := range n {
			st := users.Confirmed
			if i%10 == 0 {
				st = users.Unconfirmed
			}
			attrs := map[string]string{"name": fmt.Sprintf("User %04d", i)}
			if _, err := s.Create(context.Background(), fmt.Sprintf("user%04d@example.com", i), testPassword, st, true, attrs); err != nil {
				t.Fatal(err)
			}
		}
	})
	ctx := context.Background()
	all := func(filter string, limit int32, only []string) ([]types.UserType, int) {
		t.Helper()
		var out []types.UserType
		pages := 0
		in := &cip.ListUsersInput{UserPoolId: e.pool, Limit: aws.Int32(limit), AttributesToGet: only}
		if filter != "" {
			in.Filter = aws.String(filter)
		}
		for {
			page, err := e.api.ListUsers(ctx, in)
			if err != nil {
				t.Fatalf("ListUsers %q: %v", filter, err)
			}
			pages++
			out = append(out, page.Users...)
			if page.PaginationToken == nil {
				return out, pages
			}
			in.PaginationToken = page.PaginationToken
		}
	}
	every, pages := all("", 60, nil)
	if len(every) != n+1 || pages != 17 {
		t.Fatalf("all: %d users in %d pages", len(every), pages)
	}
	seen := map[string]bool{}
	for _, u := range every {
		if seen[*u.Username] {
			t.Fatalf("%s listed twice", *u.Username)
		}
		seen[*u.Username] = true
	}
	for _, c := range []struct {
		filter string
		want   int
	}{
		{`email ^= "user01"`, 100},
		{`email ^= "USER01"`, 100},
		{`email = "user0042@example.com"`, 1},
		{`email^="user099"`, 10},
		{`name ^= "User 05"`, 100},
		{`name = "User 0500"`, 1},
		{`cognito:user_status = "unconfirmed"`, 100},
		{`status = "Enabled"`, n + 1},
		{`status = "Disabled"`, 0},
		{`email ^= "zzz"`, 0},
		{"username = \"" + *every[3].Username + "\"", 1},
		{"sub ^= \"" + (*every[3].Username)[:36] + "\"", 1},
	} {
		got, _ := all(c.filter, 7, nil)
		if len(got) != c.want {
			t.Errorf("%s: %d users, want %d", c.filter, len(got), c.want)
		}
	}
	only, _ := all(`email = "user0001@example.com"`, 60, []string{"email"})
	if len(only) != 1 || len(only[0].Attributes) != 1 || *only[0].Attributes[0].Name != "email" {
		t.Fatalf("AttributesToGet: %+v", only)
	}
	for _, c := range []struct{ name, filter, token string }{
		{"unknown attribute", `custom:team = "x"`, ""},
		{"no quotes", `email = x`, ""},
		{"bad operator", `email != "x"`, ""},
		{"bad token", "", "not-a-token"},
	} {
		in := &cip.ListUsersInput{UserPoolId: e.pool, Filter: aws.String(c.filter)}
		if c.token != "" {
			in.PaginationToken = aws.String(c.token)
		}
		_, err := e.api.ListUsers(ctx, in)
		wantAPIError[*types.InvalidParameterException](t, c.name, err)
	}
	_, err := e.api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: e.pool, Limit: aws.Int32(61)})
	wantAPIError[*types.InvalidParameterException](t, "limit 61", err)
}

// TestAPIAdminAuthFlows: AdminInitiateAuth's password and refresh flows,
// and AdminRespondToAuthChallenge for a temporary password.
func TestAPIAdminAuthFlows(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String("gus@example.com"),
		TemporaryPassword: aws.String("Temp0rary-pw"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	auth := func(params map[string]string, flow types.AuthFlowType) (*cip.AdminInitiateAuthOutput, error) {
		return e.api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: e.pool, ClientId: aws.String("app"), AuthFlow: flow, AuthParameters: params})
	}
	init, err := auth(map[string]string{"USERNAME": "gus@example.com", "PASSWORD": "Temp0rary-pw"}, types.AuthFlowTypeAdminUserPasswordAuth)
	if err != nil || init.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
		t.Fatalf("AdminInitiateAuth with a temporary password: %+v %v", init, err)
	}
	// A session from the admin flow is not answered by the public one.
	_, err = e.anon.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"), ChallengeName: types.ChallengeNameTypeNewPasswordRequired,
		Session: init.Session, ChallengeResponses: map[string]string{"USERNAME": "gus@example.com", "NEW_PASSWORD": "Ch0sen-password"}})
	wantAPIError[*types.NotAuthorizedException](t, "admin session answered publicly", err)
	init, _ = auth(map[string]string{"USERNAME": "gus@example.com", "PASSWORD": "Temp0rary-pw"}, types.AuthFlowTypeAdminUserPasswordAuth)
	res, err := e.api.AdminRespondToAuthChallenge(ctx, &cip.AdminRespondToAuthChallengeInput{UserPoolId: e.pool, ClientId: aws.String("app"),
		ChallengeName: types.ChallengeNameTypeNewPasswordRequired, Session: init.Session,
		ChallengeResponses: map[string]string{"USERNAME": "gus@example.com", "NEW_PASSWORD": "Ch0sen-password", "userAttributes.name": "Gus"}})
	if err != nil || res.AuthenticationResult == nil {
		t.Fatalf("AdminRespondToAuthChallenge: %+v %v", res, err)
	}
	if u, _ := e.srv.Users().ByEmail(ctx, "gus@example.com"); u.Attributes["name"] != "Gus" || u.Status != users.Confirmed {
		t.Fatalf("after the challenge: %+v", u)
	}
	ref, err := auth(map[string]string{"REFRESH_TOKEN": *res.AuthenticationResult.RefreshToken}, types.AuthFlowTypeRefreshTokenAuth)
	if err != nil || ref.AuthenticationResult == nil || ref.AuthenticationResult.AccessToken == nil {
		t.Fatalf("AdminInitiateAuth refresh: %+v %v", ref, err)
	}
	_, err = auth(map[string]string{"USERNAME": "gus@example.com", "PASSWORD": "Wr0ng-password"}, types.AuthFlowTypeAdminUserPasswordAuth)
	wantAPIError[*types.NotAuthorizedException](t, "AdminInitiateAuth with a wrong password", err)
	_, err = e.anon.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: e.pool, ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": "gus@example.com", "PASSWORD": "Ch0sen-password"}})
	wantCode(t, "unsigned AdminInitiateAuth", err, "MissingAuthenticationTokenException")
}

// TestHostedResetEndsSessions is issue 13, point 5, on the Hosted UI: a
// thief holding the account's refresh token (and so the application
// session built on it) keeps nothing once the owner resets the password
// through the reset forms.
func TestHostedResetEndsSessions(t *testing.T) {
	e := newAPIEnv(t)
	e.signUp("hal@example.com", testPassword)
	stolen, err := e.hostedSignIn("hal@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := refreshAt(e, "hosted", stolen.RefreshToken); err != nil {
		t.Fatalf("refresh before the reset: %v", err)
	}
	q := url.Values{"client_id": {"hosted"}, "redirect_uri": {callbackURL}, "response_type": {"code"},
		"scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}.Encode()
	b := newBrowser(t)
	reset := b.submit(b.get(e.ts.URL+"/forgotPassword?"+q), url.Values{"username": {"hal@example.com"}})
	done := b.submit(reset, url.Values{"username": {"hal@example.com"}, "code": {e.resetCode("hal@example.com")},
		"password": {"N3w-password"}, "confirmPassword": {"N3w-password"}})
	mustContain(t, done, "Password changed")
	if _, err := refreshAt(e, "hosted", stolen.RefreshToken); err == nil {
		t.Fatal("the refresh token from before the reset still works")
	}
	if _, err := e.anon.GetUser(context.Background(), &cip.GetUserInput{AccessToken: e.tokens("hal@example.com", "N3w-password").AccessToken}); err != nil {
		t.Fatal(err)
	}
}
