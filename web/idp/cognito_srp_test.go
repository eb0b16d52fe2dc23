package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// cognitoJS returns node and the sign-in script, or skips the test (fails
// it under CI=true) when node or amazon-cognito-identity-js is missing.
func cognitoJS(t *testing.T) (node, script string) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: CI must run the SRP sign-in", why)
		}
		t.Skip(why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed (needed to run amazon-cognito-identity-js)")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	if _, err := os.Stat(filepath.Join(root, "node_modules", "amazon-cognito-identity-js", "package.json")); err != nil {
		missing("amazon-cognito-identity-js is not installed (run npm ci in " + root + ")")
	}
	script, _ = filepath.Abs(filepath.Join("testdata", "cognito-srp.js"))
	return node, script
}

type jsCase struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	NewPassword string `json:"newPassword,omitempty"`
}

type jsResult struct {
	OK        bool   `json:"ok"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Challenge string `json:"challenge"`
	Sub       string `json:"sub"`
	Email     string `json:"email"`
}

// runCognitoJS signs in with amazon-cognito-identity-js against the
// provider, one case after another.
func runCognitoJS(t *testing.T, e *apiEnv, clientID string, cases []jsCase) []jsResult {
	t.Helper()
	node, script := cognitoJS(t)
	in, _ := json.Marshal(map[string]any{"endpoint": e.ts.URL + "/", "userPoolId": apiPool, "clientId": clientID, "cases": cases})
	cmd := exec.Command(node, script)
	cmd.Dir = filepath.Dir(script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res struct{ Results []jsResult }
	if err := json.Unmarshal(out, &res); err != nil || len(res.Results) != len(cases) {
		t.Fatalf("node said %q: %v", out, err)
	}
	return res.Results
}

// TestSRPWithCognitoJS: amazon-cognito-identity-js, unchanged, signs in by
// SRP (its default), answers NEW_PASSWORD_REQUIRED, and reads the user
// with the tokens it got; wrong passwords and unknown users get the same
// refusal.
func TestSRPWithCognitoJS(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	sub := e.signUp("sam@example.com", testPassword)
	if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: e.pool, Username: aws.String("temp@example.com"),
		TemporaryPassword: aws.String("Temp0rary-pw"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	// A password set by reset gets a verifier too.
	if _, err := e.anon.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(adminEmail)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.anon.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("app"), Username: aws.String(adminEmail),
		ConfirmationCode: aws.String(e.resetCode(adminEmail)), Password: aws.String("Res3t-password")}); err != nil {
		t.Fatal(err)
	}
	got := runCognitoJS(t, e, "srponly", []jsCase{
		{Username: "sam@example.com", Password: testPassword},
		{Username: "Sam@Example.com", Password: "Wr0ng-password"},
		{Username: "nobody@example.com", Password: testPassword},
		{Username: "temp@example.com", Password: "Temp0rary-pw", NewPassword: "Ch0sen-password"},
		{Username: adminEmail, Password: "Res3t-password"},
		{Username: sub, Password: testPassword},
	})
	want := []jsResult{
		{OK: true, Sub: sub, Email: "sam@example.com"},
		{Code: "NotAuthorizedException", Message: "Incorrect username or password."},
		{Code: "NotAuthorizedException", Message: "Incorrect username or password."},
		{OK: true, Challenge: "NEW_PASSWORD_REQUIRED", Email: "temp@example.com"},
		{OK: true, Email: adminEmail},
		{OK: true, Sub: sub, Email: "sam@example.com"},
	}
	for i, w := range want {
		g := got[i]
		if w.Sub == "" {
			g.Sub = ""
		}
		if g != w {
			t.Errorf("case %d: got %+v, want %+v", i, g, w)
		}
	}
	// The new password chosen through the library works by password too.
	e.tokens("temp@example.com", "Ch0sen-password")
}

// TestSRPRefusals: SRP values a client must not send, and secret blocks
// replayed or presented late.
func TestSRPRefusals(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	e.signUp("sam@example.com", testPassword)
	start := func(a string) (*cip.InitiateAuthOutput, error) {
		return e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeUserSrpAuth,
			AuthParameters: map[string]string{"USERNAME": "sam@example.com", "SRP_A": a}})
	}
	for name, a := range map[string]string{"A = 0": "0", "A = N": srpN, "not hex": "xyz"} {
		_, err := start(a)
		wantAPIError[*types.InvalidParameterException](t, name, err)
	}
	ch, err := start("02")
	if err != nil || ch.ChallengeName != types.ChallengeNameTypePasswordVerifier || len(ch.ChallengeParameters["USER_ID_FOR_SRP"]) != 36 {
		t.Fatalf("challenge %+v %v", ch, err)
	}
	answer := func(block string) error {
		_, err := e.anon.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"), ChallengeName: types.ChallengeNameTypePasswordVerifier,
			ChallengeResponses: map[string]string{"USERNAME": ch.ChallengeParameters["USER_ID_FOR_SRP"], "PASSWORD_CLAIM_SECRET_BLOCK": block,
				"TIMESTAMP": "Tue Mar 3 09:05:07 UTC 2026", "PASSWORD_CLAIM_SIGNATURE": "AAAA"}})
		return err
	}
	block := ch.ChallengeParameters["SECRET_BLOCK"]
	wantAPIError[*types.NotAuthorizedException](t, "wrong signature", answer(block))
	wantAPIError[*types.NotAuthorizedException](t, "replayed secret block", answer(block))
	ch, _ = start("02")
	e.clock.Advance(4 * 60e9)
	wantAPIError[*types.NotAuthorizedException](t, "expired secret block", answer(ch.ChallengeParameters["SECRET_BLOCK"]))
	// An unknown user gets a challenge of the same shape.
	unk, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeUserSrpAuth,
		AuthParameters: map[string]string{"USERNAME": "nobody@example.com", "SRP_A": "02"}})
	if err != nil || len(unk.ChallengeParameters["USER_ID_FOR_SRP"]) != 36 || len(unk.ChallengeParameters["SALT"]) != len(ch.ChallengeParameters["SALT"]) {
		t.Fatalf("unknown user's challenge %+v %v", unk, err)
	}
}

// srpN is the RFC 5054 3072-bit prime, in hex.
const srpN = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
