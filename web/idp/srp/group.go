package srp

import (
	"crypto/sha256"
	"math/big"

	"filippo.io/bigmod"
)

// nHex is the 3072-bit prime of RFC 5054 (appendix A), the group Cognito and
// its client libraries use.
const nHex = "" +
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
	"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33" +
	"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864" +
	"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2" +
	"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"

// nSize is the size of N, and of every value reduced modulo N, in bytes.
const nSize = 3072 / 8

var (
	groupN = mustHex(nHex)
	groupG = big.NewInt(2)
	// groupK is SRP-6a's multiplier as Cognito's clients compute it:
	// H(PAD(N) | PAD(g)) with their padding, which is the minimal
	// two's-complement form (385 bytes for N, one byte for g), not RFC
	// 5054's padding of g to the length of N.
	groupK = new(big.Int).SetBytes(hash(padded(groupN), padded(groupG)))

	modN = mustModulus(groupN)
)

func mustHex(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("srp: bad group constant")
	}
	return n
}

func mustModulus(n *big.Int) *bigmod.Modulus {
	m, err := bigmod.NewModulus(n.Bytes())
	if err != nil {
		panic("srp: bad group modulus: " + err.Error())
	}
	return m
}

// natOf turns a value already reduced modulo N into bigmod's form.
func natOf(b []byte) (*bigmod.Nat, error) {
	return bigmod.NewNat().SetBytes(b, modN)
}

// padded is the encoding every Cognito client hashes a number in (the
// libraries call it padHex): the shortest big-endian two's-complement form
// of a non-negative integer, so a 0x00 byte leads when the top bit would
// otherwise be set, and zero is the single byte 0x00. Hashing any other
// form (a fixed width, say) gives a different u, x and k from the client's.
func padded(x *big.Int) []byte {
	b := x.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

// hash is SHA-256 over the concatenation of parts.
func hash(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// passwordExponent is x = H(PAD(salt) | H(poolName | userID | ":" | password)),
// with the salt read as the number its hex spells, as the clients read it.
func passwordExponent(poolName, userID, password string, salt []byte) []byte {
	inner := hash([]byte(poolName), []byte(userID), []byte(":"), []byte(password))
	return hash(padded(new(big.Int).SetBytes(salt)), inner)
}

// scrambler is u = H(PAD(A) | PAD(B)).
func scrambler(a, b *big.Int) []byte {
	return hash(padded(a), padded(b))
}
