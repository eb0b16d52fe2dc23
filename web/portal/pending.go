package portal

import (
	"container/list"
	"crypto/subtle"
	"net/http"
	"sync"
	"time"

	"github.com/usersvc/usersvc/web/portal/session"
)

// pending keeps, in memory, what a browser needs for a few minutes before
// it has a session: its sign-in flows in progress (state, nonce, PKCE
// verifier, return address) and a flash message (after sign-out, say).
// Anyone can make the portal start a sign-in, so this must cost no disk
// write; a session is stored only once someone has signed in.
//
// Entries are named by a random id in a short-lived cookie (the browser's
// "pending" cookie), so a callback only completes in the browser that
// started it, and a flow is removed when its callback uses it, so a
// replayed callback fails. Entries expire ttl after their last change; at
// most max are kept, the least recently changed giving way first. A portal
// restart forgets them: a sign-in in progress then has to start again.
type pending struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	byID  map[string]*list.Element // of *pendingEntry
	order *list.List               // least recently changed first
}

type pendingEntry struct {
	id      string
	changed time.Time
	logins  []session.Login // oldest first, at most maxLogins
	flash   string
}

func newPending(ttl time.Duration, max int) *pending {
	return &pending{ttl: ttl, max: max, byID: map[string]*list.Element{}, order: list.New()}
}

// change runs fn on the entry of id, creating it if needed, under the
// lock, and marks it changed at now. Expired entries are dropped first,
// and the oldest ones beyond max after.
func (p *pending) change(id string, now time.Time, fn func(*pendingEntry)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	el, ok := p.byID[id]
	if ok {
		p.order.MoveToBack(el)
	} else {
		el = p.order.PushBack(&pendingEntry{id: id})
		p.byID[id] = el
	}
	e := el.Value.(*pendingEntry)
	e.changed = now
	fn(e)
	for p.order.Len() > p.max {
		p.remove(p.order.Front())
	}
}

// take runs fn on the live entry of id, if there is one, and drops the
// entry when fn leaves it empty. It reports whether there was one.
func (p *pending) take(id string, now time.Time, fn func(*pendingEntry)) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	el, ok := p.byID[id]
	if !ok {
		return false
	}
	e := el.Value.(*pendingEntry)
	fn(e)
	if len(e.logins) == 0 && e.flash == "" {
		p.remove(el)
	}
	return true
}

func (p *pending) expire(now time.Time) {
	for el := p.order.Front(); el != nil && now.Sub(el.Value.(*pendingEntry).changed) >= p.ttl; el = p.order.Front() {
		p.remove(el)
	}
}

func (p *pending) remove(el *list.Element) {
	delete(p.byID, el.Value.(*pendingEntry).id)
	p.order.Remove(el)
}

// len is the number of entries held, for tests.
func (p *pending) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.order.Len()
}

// addLogin records a sign-in flow started by browser id, dropping its
// flows that have timed out and its oldest beyond maxLogins.
func (p *pending) addLogin(id string, l session.Login) {
	p.change(id, l.Started, func(e *pendingEntry) {
		live := e.logins[:0]
		for _, x := range e.logins {
			if l.Started.Sub(x.Started) < loginTimeout {
				live = append(live, x)
			}
		}
		e.logins = append(live, l)
		if len(e.logins) > maxLogins {
			e.logins = e.logins[len(e.logins)-maxLogins:]
		}
	})
}

// takeLogin removes and returns the flow of browser id with state, if it
// has not timed out.
func (p *pending) takeLogin(id, state string, now time.Time) (session.Login, bool) {
	var (
		login session.Login
		found bool
	)
	p.take(id, now, func(e *pendingEntry) {
		for i, l := range e.logins {
			if subtle.ConstantTimeCompare([]byte(l.State), []byte(state)) == 1 {
				e.logins = append(e.logins[:i], e.logins[i+1:]...)
				login, found = l, now.Sub(l.Started) < loginTimeout
				return
			}
		}
	})
	return login, found
}

// setFlash leaves msg for browser id's next page.
func (p *pending) setFlash(id, msg string, now time.Time) {
	p.change(id, now, func(e *pendingEntry) { e.flash = msg })
}

// takeFlash returns and forgets browser id's flash message.
func (p *pending) takeFlash(id string, now time.Time) string {
	var msg string
	p.take(id, now, func(e *pendingEntry) { msg, e.flash = e.flash, "" })
	return msg
}

// pendingID returns the browser's pending-state id from its cookie, or
// "" when it has none (or a malformed one).
func (s *Server) pendingID(r *http.Request) string {
	c, err := r.Cookie(s.cookie.pending)
	if err != nil || !session.ValidID(c.Value) {
		return ""
	}
	return c.Value
}

// ensurePendingID returns the browser's pending-state id, giving it one if
// it has none. The cookie is set again each time, so that it lives as long
// as the entry it names and not much longer.
func (s *Server) ensurePendingID(w http.ResponseWriter, r *http.Request) string {
	id := s.pendingID(r)
	if id == "" {
		id = session.NewID()
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie.pending,
		Value:    id,
		Path:     "/",
		MaxAge:   int(pendingTTL / time.Second),
		Secure:   s.cookie.secure,
		HttpOnly: true,
		// Lax: the provider's redirect to the callback is a top-level
		// navigation from another site, which must carry the cookie.
		SameSite: http.SameSiteLaxMode,
	})
	return id
}
