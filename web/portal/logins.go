package portal

import (
	"cmp"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/usersvc/usersvc/web/portal/session"
)

// Sign-ins in progress live in the browser that started them, one sealed
// cookie per flow (see sealer), named after the flow's state: no instance
// keeps anything, a callback completes on whichever instance it reaches,
// and a flood of anonymous sign-in starts grows no memory and cannot push
// out anyone else's flow. A flow's cookie is removed when its callback
// uses it, so a replayed callback fails, and it lasts loginTimeout.
const (
	// maxLogins bounds the flows one browser may have open (one per tab,
	// say); a new one pushes out the oldest.
	maxLogins = 3
	// maxReturnTo bounds the return address a flow carries; a longer one
	// is replaced by "/".
	maxReturnTo = 2048
	// loginCookieBudget bounds the bytes of all flow cookies of a browser,
	// so that they stay well inside API Gateway's 10 KB of request headers.
	loginCookieBudget = 4096
	// stateLen is the length of a state randomString makes.
	stateLen = 43
)

// sealedLogin is a flow as its cookie carries it.
type sealedLogin struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Started  int64  `json:"t"` // Unix seconds
}

func validState(state string) bool {
	if len(state) != stateLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(state)
	return err == nil
}

// loginCookie is the name of the cookie of the flow with state.
func (s *Server) loginCookie(state string) string { return s.cookie.login + state[:16] }

// boundReturn is safeReturn, with addresses longer than maxReturnTo
// replaced by "/".
func boundReturn(p string) string {
	if len(p) > maxReturnTo {
		return "/"
	}
	if out := safeReturn(p); len(out) <= maxReturnTo {
		return out
	}
	return "/"
}

func (s *Server) setLoginCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   s.cookie.secure,
		HttpOnly: true,
		// Lax: the provider's redirect to the callback is a top-level
		// navigation from another site, which must carry the cookie.
		SameSite: http.SameSiteLaxMode,
	})
}

// startLogin seals l into its own cookie, and expires the browser's flow
// cookies that are unreadable (another deployment's, say), timed out, or
// beyond maxLogins and loginCookieBudget, oldest first.
func (s *Server) startLogin(w http.ResponseWriter, r *http.Request, l session.Login) error {
	name := s.loginCookie(l.State)
	value, err := s.seal.seal(name, sealedLogin{State: l.State, Nonce: l.Nonce, Verifier: l.Verifier, ReturnTo: l.ReturnTo, Started: l.Started.Unix()})
	if err != nil {
		return err
	}
	type held struct {
		name    string
		started int64
		size    int
	}
	var keep []held
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, s.cookie.login) || c.Name == name {
			continue
		}
		var f sealedLogin
		if s.seal.open(c.Name, c.Value, &f) != nil || l.Started.Sub(time.Unix(f.Started, 0)) >= loginTimeout {
			s.setLoginCookie(w, c.Name, "", -1)
			continue
		}
		keep = append(keep, held{c.Name, f.Started, len(c.Name) + len(c.Value)})
	}
	slices.SortFunc(keep, func(a, b held) int { return cmp.Compare(b.started, a.started) }) // newest first
	budget := loginCookieBudget - len(name) - len(value)
	for i, h := range keep {
		if i >= maxLogins-1 || h.size > budget {
			s.setLoginCookie(w, h.name, "", -1)
			continue
		}
		budget -= h.size
	}
	s.setLoginCookie(w, name, value, int(loginTimeout/time.Second))
	return nil
}

// takeLogin returns the browser's flow with state and removes its cookie,
// if it has one that opens, matches and has not timed out.
func (s *Server) takeLogin(w http.ResponseWriter, r *http.Request, state string) (session.Login, bool) {
	if !validState(state) {
		return session.Login{}, false
	}
	name := s.loginCookie(state)
	c, err := r.Cookie(name)
	if err != nil {
		return session.Login{}, false
	}
	s.setLoginCookie(w, name, "", -1)
	var f sealedLogin
	if s.seal.open(name, c.Value, &f) != nil || subtle.ConstantTimeCompare([]byte(f.State), []byte(state)) != 1 {
		return session.Login{}, false
	}
	started := time.Unix(f.Started, 0)
	if s.now().Sub(started) >= loginTimeout {
		return session.Login{}, false
	}
	return session.Login{State: f.State, Nonce: f.Nonce, Verifier: f.Verifier, ReturnTo: f.ReturnTo, Started: started}, true
}

// sealedFlash is a message for a browser without a session.
type sealedFlash struct {
	Msg string `json:"m"`
	At  int64  `json:"t"`
}

// flashTTL is how long a browser without a session may take to show its
// flash message.
const flashTTL = 10 * time.Minute

// setCookieFlash leaves msg for the next page of a browser without a
// session, in a sealed cookie: it costs no write to the session store.
func (s *Server) setCookieFlash(w http.ResponseWriter, msg string) {
	v, err := s.seal.seal(s.cookie.flash, sealedFlash{Msg: msg, At: s.now().Unix()})
	if err != nil {
		return
	}
	s.setLoginCookie(w, s.cookie.flash, v, int(flashTTL/time.Second))
}

// takeCookieFlash returns and clears the browser's cookie flash message.
func (s *Server) takeCookieFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(s.cookie.flash)
	if err != nil {
		return ""
	}
	s.setLoginCookie(w, s.cookie.flash, "", -1)
	var f sealedFlash
	if s.seal.open(s.cookie.flash, c.Value, &f) != nil || s.now().Sub(time.Unix(f.At, 0)) >= flashTTL {
		return ""
	}
	return f.Msg
}
