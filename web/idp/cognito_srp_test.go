package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
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
	wantAPIMessage[*types.NotAuthorizedException](t, "wrong signature", answer(ch.ChallengeParameters["SECRET_BLOCK"]), "Incorrect username or password.")

	// A right answer, replayed: the block is spent by its first use.
	x := e.srpStart("app", "sam@example.com", false)
	resp := x.answer(testPassword, e.clock.Now())
	if _, err := x.respond(e.anon, "app", resp); err != nil {
		t.Fatalf("right answer: %v", err)
	}
	_, err = x.respond(e.anon, "app", resp)
	wantAPIMessage[*types.NotAuthorizedException](t, "replayed secret block", err, "Invalid session for the user, session can only be used once.")

	// A right answer, past the block's 3 minutes.
	x = e.srpStart("app", "sam@example.com", false)
	e.clock.Advance(3*time.Minute + time.Second)
	_, err = x.respond(e.anon, "app", x.answer(testPassword, e.clock.Now()))
	wantAPIMessage[*types.NotAuthorizedException](t, "expired secret block", err, "Invalid session for the user, session is expired.")
	// An unknown user gets a challenge of the same shape.
	unk, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("app"), AuthFlow: types.AuthFlowTypeUserSrpAuth,
		AuthParameters: map[string]string{"USERNAME": "nobody@example.com", "SRP_A": "02"}})
	if err != nil || len(unk.ChallengeParameters["USER_ID_FOR_SRP"]) != 36 || len(unk.ChallengeParameters["SALT"]) != len(ch.ChallengeParameters["SALT"]) {
		t.Fatalf("unknown user's challenge %+v %v", unk, err)
	}
}

// srpN is the RFC 5054 3072-bit prime, in hex.
const srpN = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"

// srpExchange is a USER_SRP_AUTH challenge a test answers by hand, as a
// client would.
type srpExchange struct {
	e      *apiEnv
	a, A   *big.Int
	params map[string]string
}

// srpStart asks for a PASSWORD_VERIFIER challenge on clientID, through
// AdminInitiateAuth when admin.
func (e *apiEnv) srpStart(clientID, username string, admin bool) *srpExchange {
	e.t.Helper()
	ctx := context.Background()
	a, A := srpClientKey()
	params := map[string]string{"USERNAME": username, "SRP_A": A.Text(16)}
	var ch map[string]string
	if admin {
		out, err := e.api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: e.pool, ClientId: aws.String(clientID),
			AuthFlow: types.AuthFlowTypeUserSrpAuth, AuthParameters: params})
		if err != nil {
			e.t.Fatalf("AdminInitiateAuth USER_SRP_AUTH on %s: %v", clientID, err)
		}
		ch = out.ChallengeParameters
	} else {
		out, err := e.anon.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String(clientID),
			AuthFlow: types.AuthFlowTypeUserSrpAuth, AuthParameters: params})
		if err != nil {
			e.t.Fatalf("InitiateAuth USER_SRP_AUTH on %s: %v", clientID, err)
		}
		ch = out.ChallengeParameters
	}
	return &srpExchange{e: e, a: a, A: A, params: ch}
}

// answer is the PASSWORD_VERIFIER answer of a client that knows password,
// signed at now.
func (x *srpExchange) answer(password string, now time.Time) map[string]string {
	p := x.params
	ts := now.UTC().Format("Mon Jan 2 15:04:05 UTC 2006")
	sig := srpClientSignature(x.e.srv.poolName(), p["USER_ID_FOR_SRP"], password, p["SALT"], p["SRP_B"], p["SECRET_BLOCK"], ts, x.a, x.A)
	return map[string]string{"USERNAME": p["USER_ID_FOR_SRP"], "PASSWORD_CLAIM_SECRET_BLOCK": p["SECRET_BLOCK"],
		"TIMESTAMP": ts, "PASSWORD_CLAIM_SIGNATURE": sig}
}

// respond sends an answer with RespondToAuthChallenge through c (or
// AdminRespondToAuthChallenge when c is the signed client).
func (x *srpExchange) respond(c *cip.Client, clientID string, resp map[string]string) (*types.AuthenticationResultType, error) {
	ctx := context.Background()
	if c == x.e.api {
		out, err := c.AdminRespondToAuthChallenge(ctx, &cip.AdminRespondToAuthChallengeInput{UserPoolId: x.e.pool, ClientId: aws.String(clientID),
			ChallengeName: types.ChallengeNameTypePasswordVerifier, ChallengeResponses: resp})
		if err != nil {
			return nil, err
		}
		return out.AuthenticationResult, nil
	}
	out, err := c.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
		ChallengeName: types.ChallengeNameTypePasswordVerifier, ChallengeResponses: resp})
	if err != nil {
		return nil, err
	}
	return out.AuthenticationResult, nil
}

// wantAPIMessage is wantAPIError that also checks the message.
func wantAPIMessage[T error](t testing.TB, what string, err error, message string) {
	t.Helper()
	wantAPIError[T](t, what, err)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorMessage() != message {
		t.Fatalf("%s: %v, want the message %q", what, err, message)
	}
}

// TestSRPAnswerBoundToClient: a PASSWORD_VERIFIER answer counts only on
// the client, and through the operations (admin or not), its challenge was
// issued for. Otherwise a challenge started on a client that allows SRP
// could be answered on one that allows no API flow (the Hosted UI's) and
// get tokens for it, with the API's admin scope.
func TestSRPAnswerBoundToClient(t *testing.T) {
	e := newAPIEnv(t)
	e.signUp("bob@example.com", testPassword)

	x := e.srpStart("app", "bob@example.com", false)
	resp := x.answer(testPassword, e.clock.Now())
	_, err := x.respond(e.anon, "pwonly", resp)
	wantAPIMessage[*types.InvalidParameterException](t, "answered on a client without SRP", err, "USER_SRP_AUTH flow not enabled for this client")
	// Other clients that allow SRP (the Hosted UI's, by Cognito's default
	// flows): the block is not theirs.
	for _, other := range []string{"hosted", "legacy"} {
		_, err = x.respond(e.anon, other, resp)
		wantAPIMessage[*types.NotAuthorizedException](t, "answered on "+other, err, "Incorrect username or password.")
	}
	// Through the admin operation, for the same client.
	_, err = x.respond(e.api, "app", resp)
	wantAPIMessage[*types.NotAuthorizedException](t, "answered through AdminRespondToAuthChallenge", err, "Incorrect username or password.")
	// None of those spent the block: the client it was issued for signs in.
	res, err := x.respond(e.anon, "app", resp)
	if err != nil {
		t.Fatalf("answer on its own client: %v", err)
	}
	c, err := e.srv.verifyAccess(*res.AccessToken, e.clock.Now())
	if err != nil || c.ClientID != "app" {
		t.Fatalf("access token: client %q, %v", c.ClientID, err)
	}

	// And the other way: an admin challenge is answered only by the admin
	// operation.
	x = e.srpStart("app", "bob@example.com", true)
	resp = x.answer(testPassword, e.clock.Now())
	_, err = x.respond(e.anon, "app", resp)
	wantAPIMessage[*types.NotAuthorizedException](t, "admin challenge answered anonymously", err, "Incorrect username or password.")
	if _, err := x.respond(e.api, "app", resp); err != nil {
		t.Fatalf("admin challenge answered by the admin operation: %v", err)
	}
}
