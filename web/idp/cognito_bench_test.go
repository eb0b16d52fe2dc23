package idp

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/usersvc/usersvc/web/idp/users"
)

// apiRequest calls one operation on the handler and decodes its answer.
func apiRequest(tb testing.TB, h http.Handler, op string, in any, out any) {
	body, _ := json.Marshal(in)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("%s: %d %s", op, rec.Code, rec.Body)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkAPIGetUser measures GetUser with an access token: its checks
// (signature, expiry, scope, revocation, account) and the answer.
func BenchmarkAPIGetUser(b *testing.B) {
	e := newAPIEnv(b)
	e.signUp("bench@example.com", testPassword)
	tok := e.tokens("bench@example.com", testPassword)
	h := e.srv.Handler()
	body := `{"AccessToken":"` + *tok.AccessToken + `"}`
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", targetPrefix+"GetUser")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkAPIListUsersPrefix measures a ListUsers page of 60 with an
// email ^= filter over 1,000 accounts, through the API (signature check
// included); users.BenchmarkListPrefix does the same over 10,000 in the
// store.
func BenchmarkAPIListUsersPrefix(b *testing.B) {
	e := newAPIEnvWith(b, func(dir string) {
		s, err := users.Open(dir, users.TestCost, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for i := range 1000 {
			if _, err := s.Create(context.Background(), fmt.Sprintf("user%04d@example.com", i), testPassword, users.Confirmed, true, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	ctx := context.Background()
	filter := `email ^= "user0"`
	for b.Loop() {
		out, err := e.api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: e.pool, Filter: aws.String(filter), Limit: aws.Int32(60)})
		if err != nil {
			b.Fatal(err)
		}
		if len(out.Users) != 60 {
			b.Fatalf("%d users", len(out.Users))
		}
	}
}

// BenchmarkAPISRP measures both server sides of an SRP sign-in
// (InitiateAuth USER_SRP_AUTH, then RespondToAuthChallenge
// PASSWORD_VERIFIER with tokens issued); the client's computation, done
// here in Go as amazon-cognito-identity-js does it, is not timed.
func BenchmarkAPISRP(b *testing.B) {
	e := newAPIEnv(b)
	const email = "bench@example.com"
	e.signUp(email, testPassword)
	h := e.srv.Handler()
	pool := e.srv.poolName()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a, A := srpClientKey()
		b.StartTimer()
		var ch signInResult
		apiRequest(b, h, "InitiateAuth", map[string]any{"ClientId": "app", "AuthFlow": "USER_SRP_AUTH",
			"AuthParameters": map[string]string{"USERNAME": email, "SRP_A": A.Text(16)}}, &ch)
		b.StopTimer()
		p := ch.ChallengeParameters
		ts := time.Now().UTC().Format("Mon Jan 2 15:04:05 UTC 2006")
		sig := srpClientSignature(pool, p["USER_ID_FOR_SRP"], testPassword, p["SALT"], p["SRP_B"], p["SECRET_BLOCK"], ts, a, A)
		b.StartTimer()
		var res signInResult
		apiRequest(b, h, "RespondToAuthChallenge", map[string]any{"ClientId": "app", "ChallengeName": "PASSWORD_VERIFIER",
			"ChallengeResponses": map[string]string{"USERNAME": p["USER_ID_FOR_SRP"], "PASSWORD_CLAIM_SECRET_BLOCK": p["SECRET_BLOCK"],
				"TIMESTAMP": ts, "PASSWORD_CLAIM_SIGNATURE": sig}}, &res)
		if res.AuthenticationResult == nil {
			b.Fatalf("no tokens: %+v", res)
		}
	}
}

// The client side of Cognito's SRP, for the benchmark (the test against
// amazon-cognito-identity-js is what proves the server right).
var (
	srpGroupN, _ = new(big.Int).SetString(srpN, 16)
	srpG         = big.NewInt(2)
)

func srpPad(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) == 0 {
		return []byte{0}
	}
	if b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

func srpHash(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func srpClientKey() (*big.Int, *big.Int) {
	buf := make([]byte, 128)
	rand.Read(buf)
	a := new(big.Int).SetBytes(buf)
	return a, new(big.Int).Exp(srpG, a, srpGroupN)
}

func srpClientSignature(pool, userID, password, saltHex, bHex, block, timestamp string, a, A *big.Int) string {
	B, _ := new(big.Int).SetString(bHex, 16)
	salt, _ := new(big.Int).SetString(saltHex, 16)
	k := new(big.Int).SetBytes(srpHash(srpPad(srpGroupN), srpPad(srpG)))
	u := new(big.Int).SetBytes(srpHash(srpPad(A), srpPad(B)))
	x := new(big.Int).SetBytes(srpHash(srpPad(salt), srpHash([]byte(pool+userID+":"+password))))
	gx := new(big.Int).Exp(srpG, x, srpGroupN)
	base := new(big.Int).Sub(B, new(big.Int).Mul(k, gx))
	base.Mod(base, srpGroupN)
	exp := new(big.Int).Add(a, new(big.Int).Mul(u, x))
	S := new(big.Int).Exp(base, exp, srpGroupN)
	key, _ := hkdf.Key(sha256.New, srpPad(S), srpPad(u), "Caldera Derived Key", 16)
	blk, _ := base64.StdEncoding.DecodeString(block)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(pool + userID))
	m.Write(blk)
	m.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
