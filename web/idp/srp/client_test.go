package srp

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"testing"
	"time"
)

// testClient is the client side written from the protocol with math/big
// alone, the way the client libraries compute it, so that the unit tests run
// without node. The vectors from the real library are in js_test.go.
type testClient struct {
	poolName string
	a, bigA  *big.Int
}

func newTestClient(t testing.TB, poolName string) *testClient {
	t.Helper()
	raw := make([]byte, 128)
	rand.Read(raw)
	a := new(big.Int).SetBytes(raw)
	return &testClient{poolName: poolName, a: a, bigA: new(big.Int).Exp(groupG, a, groupN)}
}

// srpA is SRP_A as amazon-cognito-identity-js sends it: lower-case hex,
// no leading zeros.
func (c *testClient) srpA() string { return c.bigA.Text(16) }

// sign answers ch with password at time now.
func (c *testClient) sign(t testing.TB, ch Challenge, password string, now time.Time) (timestamp, signature string) {
	t.Helper()
	timestamp = now.UTC().Format(TimestampLayout)
	return timestamp, c.signAt(t, ch, password, timestamp)
}

// signAt signs with the TIMESTAMP given, in whatever form.
func (c *testClient) signAt(t testing.TB, ch Challenge, password, timestamp string) string {
	t.Helper()
	bigB, ok := new(big.Int).SetString(ch.SRPB, 16)
	if !ok {
		t.Fatalf("SRP_B %q is not hex", ch.SRPB)
	}
	salt, ok := new(big.Int).SetString(ch.Salt, 16)
	if !ok {
		t.Fatalf("SALT %q is not hex", ch.Salt)
	}
	u := new(big.Int).SetBytes(hash(padded(c.bigA), padded(bigB)))
	inner := hash([]byte(c.poolName + ch.UserIDForSRP + ":" + password))
	x := new(big.Int).SetBytes(hash(padded(salt), inner))
	// S = (B - k*g^x)^(a + u*x) mod N
	base := new(big.Int).Sub(bigB, new(big.Int).Mul(groupK, new(big.Int).Exp(groupG, x, groupN)))
	base.Mod(base, groupN)
	exp := new(big.Int).Add(c.a, new(big.Int).Mul(u, x))
	s := new(big.Int).Exp(base, exp, groupN)
	key, err := hkdf.Key(sha256.New, padded(s), padded(u), "Caldera Derived Key", 16)
	if err != nil {
		t.Fatal(err)
	}
	block, err := base64.StdEncoding.DecodeString(ch.SecretBlock)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(c.poolName + ch.UserIDForSRP))
	mac.Write(block)
	mac.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestGroupConstants(t *testing.T) {
	if groupN.BitLen() != 3072 || !groupN.ProbablyPrime(20) {
		t.Fatal("N is not the 3072-bit prime")
	}
	// k as every Cognito client library has it (computed by them from the
	// same N and g); a fixed-width PAD(g) would give another.
	const wantK = "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6"
	if got := hex.EncodeToString(groupK.Bytes()); got != wantK {
		t.Errorf("k = %s, want %s", got, wantK)
	}
}

func TestPadded(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{
		{0, "00"}, {1, "01"}, {0x7f, "7f"}, {0x80, "0080"}, {0xec, "00ec"},
		{0x100, "0100"}, {0x8000, "008000"}, {0x7fff, "7fff"},
	} {
		if got := hex.EncodeToString(padded(big.NewInt(tc.in))); got != tc.want {
			t.Errorf("padded(%#x) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
