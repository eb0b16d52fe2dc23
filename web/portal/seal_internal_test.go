package portal

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func testSealer(t testing.TB, secret string) *sealer {
	key, err := deriveStateKey("portal", secret)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSeal(t *testing.T) {
	a, b := testSealer(t, "one"), testSealer(t, "two")
	v, err := a.seal("c1", sealedFlash{Msg: "hi", At: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got sealedFlash
	if err := a.open("c1", v, &got); err != nil || got.Msg != "hi" {
		t.Fatalf("open: %+v, %v", got, err)
	}
	if a.open("c2", v, &got) == nil {
		t.Error("a value sealed for one cookie opened as another")
	}
	if b.open("c1", v, &got) == nil {
		t.Error("another key opened the value")
	}
	raw := []byte(v)
	for i := range raw {
		tampered := append([]byte(nil), raw...)
		tampered[i] ^= 1
		if a.open("c1", string(tampered), &got) == nil && string(tampered) != v {
			t.Fatalf("a value altered at byte %d opened", i)
		}
	}
	if _, err := newSealer([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}

// FuzzTakeLogin: whatever the callback's state and the flow cookie hold,
// takeLogin refuses without panicking unless the cookie is one it sealed
// for that state.
func FuzzTakeLogin(f *testing.F) {
	s := &Server{seal: testSealer(f, "s3cret"), cookie: cookieSpec{login: "__Host-portal-login-", secure: true}, now: time.Now}
	const state = "mg6TFounqNpzOxtMNTwCVm6dIQcERiGmocermhEDYRA"
	good, _ := s.seal.seal(s.loginCookie(state), sealedLogin{State: state, Started: time.Now().Unix()})
	f.Add(state, good)
	f.Add(state, "")
	f.Add("x", good)
	f.Add(state, good[:len(good)-2])
	f.Add(randomString(), "AAAA")
	f.Fuzz(func(t *testing.T, state, value string) {
		req := httptest.NewRequest("GET", "/auth/callback", nil)
		if validState(state) {
			req.AddCookie(&http.Cookie{Name: s.loginCookie(state), Value: sanitize(value)})
		}
		l, ok := s.takeLogin(httptest.NewRecorder(), req, state)
		var genuine sealedLogin
		if ok && (l.State != state || s.seal.open(s.loginCookie(state), sanitize(value), &genuine) != nil) {
			t.Fatalf("took %+v from %q", l, value)
		}
	})
}

// sanitize keeps a fuzzed value within what a Cookie header can carry.
func sanitize(v string) string {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if c := v[i]; c > 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\' && c != ',' {
			out = append(out, c)
		}
	}
	return string(out)
}
