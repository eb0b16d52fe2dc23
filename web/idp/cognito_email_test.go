package idp

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// getUserAttrs is GetUser's attributes by name.
func (e *apiEnv) getUserAttrs(token *string) map[string]string {
	e.t.Helper()
	out, err := e.anon.GetUser(context.Background(), &cip.GetUserInput{AccessToken: token})
	if err != nil {
		e.t.Fatalf("GetUser: %v", err)
	}
	m := map[string]string{}
	for _, a := range out.UserAttributes {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}

// listByEmail is the subs ListUsers finds for email = address.
func (e *apiEnv) listByEmail(address string) []string {
	e.t.Helper()
	out, err := e.api.ListUsers(context.Background(), &cip.ListUsersInput{UserPoolId: e.pool, Filter: aws.String(`email = "` + address + `"`)})
	if err != nil {
		e.t.Fatalf("ListUsers: %v", err)
	}
	var subs []string
	for _, u := range out.Users {
		subs = append(subs, aws.ToString(u.Username))
	}
	return subs
}

// TestAPIEmailTakeover: a user who sets another person's address as their
// email gets nothing of it until they verify a code mailed there (issue 11
// review, H3): not the sign-in alias, not ListUsers' answer for it, and the
// address's owner can still sign up with it, after which the code is
// useless.
func TestAPIEmailTakeover(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	mallory := e.signUp("mallory@example.com", testPassword)
	res := e.tokens("mallory@example.com", testPassword)

	out, err := e.anon.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken,
		UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String("Alice@Corp.com")},
			{Name: aws.String("given_name"), Value: aws.String("Mal")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.CodeDeliveryDetailsList) != 1 || aws.ToString(out.CodeDeliveryDetailsList[0].Destination) != "a***@c***" ||
		aws.ToString(out.CodeDeliveryDetailsList[0].AttributeName) != "email" {
		t.Fatalf("CodeDeliveryDetailsList %+v", out.CodeDeliveryDetailsList)
	}
	code := e.resetCode("alice@corp.com") // the mail went to the new address
	if attrs := e.getUserAttrs(res.AccessToken); attrs["email"] != "mallory@example.com" || attrs["email_verified"] != "true" || attrs["given_name"] != "Mal" {
		t.Fatalf("after asking for a new email, GetUser = %v; want the old address, still verified, and the other change made", attrs)
	}
	if subs := e.listByEmail("alice@corp.com"); len(subs) != 0 {
		t.Fatalf("ListUsers email = the unverified address finds %v", subs)
	}
	if subs := e.listByEmail("mallory@example.com"); len(subs) != 1 || subs[0] != mallory {
		t.Fatalf("ListUsers email = the old address finds %v", subs)
	}
	_, err = e.passwordAuth("alice@corp.com", testPassword)
	wantAPIError[*types.NotAuthorizedException](t, "sign-in with the unverified address", err)
	e.tokens("mallory@example.com", testPassword)

	// The address's owner signs up with it, unhindered.
	alice := e.signUp("alice@corp.com", "Al1ce-password!")
	// Now the code, had it reached the wrong hands, takes nothing.
	_, err = e.anon.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email"), Code: aws.String(code)})
	wantAPIError[*types.AliasExistsException](t, "verify an address another account took meanwhile", err)
	if subs := e.listByEmail("alice@corp.com"); len(subs) != 1 || subs[0] != alice {
		t.Fatalf("ListUsers email = alice@corp.com finds %v, want Alice's account", subs)
	}
	if attrs := e.getUserAttrs(res.AccessToken); attrs["email"] != "mallory@example.com" {
		t.Fatalf("after a refused verification Mallory's email is %q", attrs["email"])
	}
	e.tokens("alice@corp.com", "Al1ce-password!")
}

// TestAPIEmailChange: the legitimate change of address, by the code mailed
// to the new one (resent with GetUserAttributeVerificationCode), and the
// refusals on the way.
func TestAPIEmailChange(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	carol := e.signUp("carol@example.com", testPassword)
	res := e.tokens("carol@example.com", testPassword)
	update := func(email string) (*cip.UpdateUserAttributesOutput, error) {
		return e.anon.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: res.AccessToken,
			UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)}}})
	}
	verify := func(attr, code string) error {
		_, err := e.anon.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: res.AccessToken, AttributeName: aws.String(attr), Code: aws.String(code)})
		return err
	}

	_, err := update("not an address")
	wantAPIError[*types.InvalidParameterException](t, "a malformed email", err)
	_, err = update(adminEmail)
	wantAPIError[*types.AliasExistsException](t, "the email of another account", err)
	// Setting the address it has changes nothing and mails nothing.
	if out, err := update("Carol@Example.com"); err != nil || len(out.CodeDeliveryDetailsList) != 0 {
		t.Fatalf("update to the same address: %+v %v", out, err)
	}
	if _, err := update("carol@new.example"); err != nil {
		t.Fatal(err)
	}
	first := e.resetCode("carol@new.example")
	resent, err := e.anon.GetUserAttributeVerificationCode(ctx, &cip.GetUserAttributeVerificationCodeInput{AccessToken: res.AccessToken, AttributeName: aws.String("email")})
	if err != nil || aws.ToString(resent.CodeDeliveryDetails.Destination) != "c***@n***" {
		t.Fatalf("GetUserAttributeVerificationCode: %+v %v", resent, err)
	}
	code := e.resetCode("carol@new.example")
	_, err = e.anon.GetUserAttributeVerificationCode(ctx, &cip.GetUserAttributeVerificationCodeInput{AccessToken: res.AccessToken, AttributeName: aws.String("phone_number")})
	wantAPIError[*types.InvalidParameterException](t, "a code for phone_number", err)
	wantAPIError[*types.InvalidParameterException](t, "verify phone_number", verify("phone_number", code))
	if first != code {
		wantAPIError[*types.CodeMismatchException](t, "the replaced code", verify("email", first))
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantAPIError[*types.CodeMismatchException](t, "a wrong code", verify("email", wrong))
	if attrs := e.getUserAttrs(res.AccessToken); attrs["email"] != "carol@example.com" {
		t.Fatalf("email before verification %q", attrs["email"])
	}

	if err := verify("email", code); err != nil {
		t.Fatal(err)
	}
	if attrs := e.getUserAttrs(res.AccessToken); attrs["email"] != "carol@new.example" || attrs["email_verified"] != "true" {
		t.Fatalf("after verification GetUser = %v", attrs)
	}
	wantAPIError[*types.ExpiredCodeException](t, "a used code", verify("email", code))
	if subs := e.listByEmail("carol@new.example"); len(subs) != 1 || subs[0] != carol {
		t.Fatalf("ListUsers email = the new address finds %v", subs)
	}
	e.tokens("carol@new.example", testPassword)
	_, err = e.passwordAuth("carol@example.com", testPassword)
	wantAPIError[*types.NotAuthorizedException](t, "sign-in with the old address", err)
	e.signUp("carol@example.com", testPassword) // the old address is free

	// An administrator sets an address at once, and it wins over a
	// change waiting for its code.
	if _, err := update("carol@third.example"); err != nil {
		t.Fatal(err)
	}
	pending := e.resetCode("carol@third.example")
	if _, err := e.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: e.pool, Username: aws.String(carol),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("carol@admin.example")}, {Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	if attrs := e.getUserAttrs(res.AccessToken); attrs["email"] != "carol@admin.example" || attrs["email_verified"] != "true" {
		t.Fatalf("after AdminUpdateUserAttributes GetUser = %v", attrs)
	}
	wantAPIError[*types.ExpiredCodeException](t, "the code of a change an administrator overrode", verify("email", pending))
}

// TestAPINewPasswordEmail: an email chosen in the NEW_PASSWORD_REQUIRED
// answer waits for its code too, like UpdateUserAttributes'.
func TestAPINewPasswordEmail(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String("tim@example.com"),
		TemporaryPassword: aws.String("Temp0rary-pw"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	ch, err := e.passwordAuth("tim@example.com", "Temp0rary-pw")
	if err != nil || ch.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
		t.Fatalf("first sign-in: %+v %v", ch, err)
	}
	out, err := e.anon.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"),
		ChallengeName: types.ChallengeNameTypeNewPasswordRequired, Session: ch.Session,
		ChallengeResponses: map[string]string{"USERNAME": "tim@example.com", "NEW_PASSWORD": "Str0ng-password!", "userAttributes.email": "ann@corp.com"}})
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("new password: %+v %v", out, err)
	}
	if attrs := e.getUserAttrs(out.AuthenticationResult.AccessToken); attrs["email"] != "tim@example.com" {
		t.Fatalf("email after NEW_PASSWORD_REQUIRED %q, want the old one until verified", attrs["email"])
	}
	e.signUp("ann@corp.com", testPassword)
}
