package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/usersvc/usersvc/web/idp/users"
)

// The names the existence tests compare, typed in mixed case as people
// type them. All three mask alike ("a***@e***") when masked from what was
// typed; an answer masked from the store would differ in case.
const (
	ghostName       = "Alfred@Example.com" // no account
	confirmedName   = "Alice@Example.com"
	unconfirmedName = "Amy@Example.com"
)

// answer is what a caller sees of a call: the error's code and message,
// or the result as JSON.
func answer(out any, err error) string {
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode() + ": " + ae.ErrorMessage()
		}
		return "error: " + err.Error()
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// TestAPIExistenceUniform: with PreventUserExistenceErrors on, every public
// operation that takes a username answers an unknown name exactly as it
// answers a name with an account (error type and message, or result),
// however the code it was given is wrong: never issued, wrong, expired or
// used (issue 11 review, H1 and H2). Each case gets its own provider, so
// that the lockout's counts of one case do not turn the next into a
// comparison of "locked" answers. SignUp is left out: Cognito tells that
// an address is taken (UsernameExistsException) by design. The answers
// that differ by an account's state in Cognito too are checked as such
// (see "Differences from Cognito" in the package doc).
func TestAPIExistenceUniform(t *testing.T) {
	ctx := context.Background()
	const code = "123456"
	type call func(e *apiEnv, name string) string
	confirmForgot := func(e *apiEnv, name, code string) string {
		return answer(e.anon.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("app"),
			Username: aws.String(name), ConfirmationCode: aws.String(code), Password: aws.String("N3w-password!")}))
	}
	forgot := func(e *apiEnv, name string) string {
		out, err := e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(name)})
		if err != nil {
			return answer(nil, err)
		}
		return answer(out.CodeDeliveryDetails, nil)
	}
	// mailedCode is the newest six-digit code mailed to name, or a made-up
	// one when there is none (an unknown name gets no mail).
	mailedCode := func(e *apiEnv, name string) string {
		if m, err := e.srv.Outbox().Latest(strings.ToLower(name)); err == nil && m.Code() != "" {
			return m.Code()
		}
		return code
	}
	confirmSignUp := func(e *apiEnv, name, code string) string {
		return answer(e.anon.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String("app"),
			Username: aws.String(name), ConfirmationCode: aws.String(code)}))
	}
	linkCode := func(e *apiEnv, name string) string {
		if _, err := e.srv.Outbox().Latest(strings.ToLower(name)); err != nil {
			return "NOSUCHCODE"
		}
		return e.confirmCode(strings.ToLower(name))
	}
	srpChallenge := func(e *apiEnv, name string) (map[string]string, string) {
		a, A := srpClientKey()
		out, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeUserSrpAuth,
			AuthParameters: map[string]string{"USERNAME": name, "SRP_A": A.Text(16)}})
		if err != nil {
			return nil, answer(nil, err)
		}
		p := out.ChallengeParameters
		ts := e.clock.Now().UTC().Format("Mon Jan 2 15:04:05 UTC 2006")
		sig := srpClientSignature(e.srv.poolName(), p["USER_ID_FOR_SRP"], "Wr0ng-password!", p["SALT"], p["SRP_B"], p["SECRET_BLOCK"], ts, a, A)
		return map[string]string{"USERNAME": p["USER_ID_FOR_SRP"], "PASSWORD_CLAIM_SECRET_BLOCK": p["SECRET_BLOCK"],
			"TIMESTAMP": ts, "PASSWORD_CLAIM_SIGNATURE": sig}, ""
	}

	cases := []struct {
		name string
		call call
		// state holds the answers that differ by an account's state in
		// Cognito too, by account name; the others must be the unknown
		// name's.
		state map[string]string
	}{
		{"ConfirmForgotPassword, no code issued", func(e *apiEnv, name string) string {
			return confirmForgot(e, name, code)
		}, nil},
		{"ConfirmForgotPassword, wrong code", func(e *apiEnv, name string) string {
			forgot(e, name)
			wrong := "000000"
			if mailedCode(e, name) == wrong {
				wrong = "111111"
			}
			return confirmForgot(e, name, wrong)
		}, nil},
		{"ConfirmForgotPassword, expired code", func(e *apiEnv, name string) string {
			forgot(e, name)
			c := mailedCode(e, name)
			e.clock.Advance(61 * time.Minute)
			return confirmForgot(e, name, c)
		}, nil},
		{"ConfirmForgotPassword, used code", func(e *apiEnv, name string) string {
			forgot(e, name)
			c := mailedCode(e, name)
			confirmForgot(e, name, c)
			return confirmForgot(e, name, c)
		}, nil},
		{"ConfirmForgotPassword, code burnt by wrong guesses", func(e *apiEnv, name string) string {
			forgot(e, name)
			c := mailedCode(e, name)
			for range 5 {
				confirmForgot(e, name, "x"+c)
			}
			return confirmForgot(e, name, c)
		}, nil},
		{"ConfirmSignUp, wrong code", func(e *apiEnv, name string) string {
			return confirmSignUp(e, name, "NOSUCHCODE")
		}, map[string]string{confirmedName: "NotAuthorizedException: User cannot be confirmed. Current status is CONFIRMED"}},
		{"ConfirmSignUp, expired code", func(e *apiEnv, name string) string {
			c := linkCode(e, name)
			e.clock.Advance(25 * time.Hour)
			return confirmSignUp(e, name, c)
		}, map[string]string{confirmedName: "NotAuthorizedException: User cannot be confirmed. Current status is CONFIRMED"}},
		{"ResendConfirmationCode", func(e *apiEnv, name string) string {
			out, err := e.anon.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String("app"), Username: aws.String(name)})
			if err != nil {
				return answer(nil, err)
			}
			return answer(out.CodeDeliveryDetails, nil)
		}, map[string]string{confirmedName: "InvalidParameterException: User is already confirmed."}},
		{"ForgotPassword", forgot, nil},
		{"InitiateAuth USER_PASSWORD_AUTH, wrong password", func(e *apiEnv, name string) string {
			return answer(e.passwordAuth(name, "Wr0ng-password!"))
		}, nil},
		{"InitiateAuth USER_PASSWORD_AUTH, hashing busy", func(e *apiEnv, name string) string {
			// Busy must not mean "exists": an unknown name is as busy.
			defer users.SetHashLimit(0, 0)()
			return answer(e.passwordAuth(name, "Wr0ng-password!"))
		}, nil},
		{"InitiateAuth USER_SRP_AUTH", func(e *apiEnv, name string) string {
			out, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeUserSrpAuth,
				AuthParameters: map[string]string{"USERNAME": name, "SRP_A": "2"}})
			if err != nil {
				return answer(nil, err)
			}
			// The values are random; what they are must not differ.
			var keys []string
			for k, v := range out.ChallengeParameters {
				shape := "value"
				if k == "USER_ID_FOR_SRP" || k == "USERNAME" {
					shape = fmt.Sprint(isUUID(v))
				}
				keys = append(keys, k+"="+shape)
			}
			sort.Strings(keys)
			return string(out.ChallengeName) + " " + strings.Join(keys, ",")
		}, nil},
		{"RespondToAuthChallenge PASSWORD_VERIFIER, wrong password", func(e *apiEnv, name string) string {
			r, failed := srpChallenge(e, name)
			if failed != "" {
				return failed
			}
			return answer(e.anon.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"),
				ChallengeName: types.ChallengeNameTypePasswordVerifier, ChallengeResponses: r}))
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newAPIEnv(t)
			e.signUp(strings.ToLower(confirmedName), testPassword)
			if _, err := e.anon.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String("app"),
				Username: aws.String(strings.ToLower(unconfirmedName)), Password: aws.String(testPassword)}); err != nil {
				t.Fatal(err)
			}
			want := c.call(e, ghostName)
			for _, name := range []string{confirmedName, unconfirmedName} {
				w := want
				if s, ok := c.state[name]; ok {
					w = s
				}
				if got := c.call(e, name); got != w {
					t.Errorf("%s answers\n\t%s\nwant (the unknown %s's)\n\t%s", name, got, ghostName, w)
				}
			}
		})
	}
}

// TestAPIDeliveryDestination: the masked destination comes from the name
// as typed (normalised), whether or not it has an account; from the stored
// address only when the caller named the account by its sub.
func TestAPIDeliveryDestination(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	sub := e.signUp("zoe@example.com", testPassword)
	for _, c := range []struct{ name, want string }{
		{"ZOE@Example.com", "z***@e***"},
		{"  Zed@Example.COM ", "z***@e***"},
		{sub, "z***@e***"},
		{"00000000-0000-4000-8000-000000000000", "***"},
		{"not an address", "***"},
	} {
		out, err := e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(c.name)})
		if err != nil {
			t.Fatalf("ForgotPassword %q: %v", c.name, err)
		}
		if got := aws.ToString(out.CodeDeliveryDetails.Destination); got != c.want {
			t.Errorf("ForgotPassword %q: destination %q, want %q", c.name, got, c.want)
		}
	}
}

// TestAPILockoutPerAccount: wrong passwords (and wrong reset codes) count
// toward one lockout per account whatever name they were typed under, its
// sub or its email in any case, so that naming the account another way
// does not buy more guesses.
func TestAPILockoutPerAccount(t *testing.T) {
	ctx := context.Background()
	t.Run("passwords", func(t *testing.T) {
		e := newAPIEnv(t)
		sub := e.signUp("lu@example.com", testPassword)
		names := []string{sub, "Lu@Example.com", sub, "lu@example.com", sub}
		for _, n := range names[:LockoutThreshold] {
			_, err := e.passwordAuth(n, "Wr0ng-password!")
			wantAPIError[*types.NotAuthorizedException](t, "wrong password as "+n, err)
		}
		_, err := e.passwordAuth("lu@example.com", testPassword)
		var na *types.NotAuthorizedException
		if !errors.As(err, &na) || aws.ToString(na.Message) != "Password attempts exceeded" {
			t.Fatalf("right password after %d failures under the account's sub and email: %v, want Password attempts exceeded", LockoutThreshold, err)
		}
		// An SRP start is refused too, whichever name it gives.
		for _, n := range []string{sub, "LU@example.com"} {
			_, A := srpClientKey()
			_, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeUserSrpAuth,
				AuthParameters: map[string]string{"USERNAME": n, "SRP_A": A.Text(16)}})
			if !errors.As(err, &na) || aws.ToString(na.Message) != "Password attempts exceeded" {
				t.Errorf("SRP start as %s on a locked account: %v, want Password attempts exceeded", n, err)
			}
		}
	})
	t.Run("ConfirmSignUp of a confirmed account clears nothing", func(t *testing.T) {
		e := newAPIEnv(t)
		e.signUp("ned@example.com", testPassword)
		for i := range LockoutThreshold {
			_, err := e.passwordAuth("ned@example.com", "Wr0ng-password!")
			wantAPIError[*types.NotAuthorizedException](t, "wrong password", err)
			if i < LockoutThreshold-1 {
				_, err = e.anon.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String("app"),
					Username: aws.String("ned@example.com"), ConfirmationCode: aws.String("whatever")})
				wantAPIError[*types.NotAuthorizedException](t, "ConfirmSignUp of a confirmed account", err)
			}
		}
		_, err := e.passwordAuth("ned@example.com", testPassword)
		var na *types.NotAuthorizedException
		if !errors.As(err, &na) || aws.ToString(na.Message) != "Password attempts exceeded" {
			t.Fatalf("right password after %d failures with ConfirmSignUp calls between them: %v, want Password attempts exceeded", LockoutThreshold, err)
		}
	})
	t.Run("reset codes", func(t *testing.T) {
		e := newAPIEnv(t)
		sub := e.signUp("mo@example.com", testPassword)
		if _, err := e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(sub)}); err != nil {
			t.Fatal(err)
		}
		code := e.resetCode("mo@example.com")
		cfp := func(name, code string) error {
			_, err := e.anon.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("app"),
				Username: aws.String(name), ConfirmationCode: aws.String(code), Password: aws.String("N3w-password!")})
			return err
		}
		for i, n := range []string{sub, "MO@example.com", sub, "mo@example.com", sub}[:LockoutThreshold] {
			wantAPIError[*types.CodeMismatchException](t, fmt.Sprintf("wrong code %d as %s", i, n), cfp(n, "x"+code))
		}
		wantAPIError[*types.LimitExceededException](t, "a code after failures under the account's sub and email", cfp("mo@example.com", code))
	})
}
