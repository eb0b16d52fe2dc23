package idp

import (
	"errors"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// What one client may cost the provider. A client is its address (an IPv6
// client its /64, which one host usually holds whole; see clientLevels for
// the /56 and /48 around it).
const (
	// HashRate and HashBurst bound the forms that hash a password (sign-in,
	// sign-up, reset) per client: a burst, then one a second.
	HashRate  = rate.Limit(1)
	HashBurst = 20
	// MailPerAddress and MailPerClient bound the mail that forms can cause:
	// a few at once, then one every MailInterval, per recipient address and
	// per client (Cognito answers LimitExceededException past its own).
	MailPerAddress = 5
	MailPerClient  = 20
	MailInterval   = 10 * time.Minute
	// ExistsNoticeInterval is how often, at most, the owner of a confirmed
	// address is told that someone tried to sign up with it.
	ExistsNoticeInterval = 24 * time.Hour
	// maxLimited bounds the entries of each per-key limiter.
	maxLimited = 10000
)

// ErrMailLimit means an address, or a client, has been sent (or caused) as
// much mail as it may for now. Cognito's API calls it
// LimitExceededException; the Hosted UI says "Attempt limit exceeded".
var ErrMailLimit = errors.New("attempt limit exceeded, please try after some time")

// clientKey is the key a request's client is counted under: its address,
// or its /64 for IPv6.
func clientKey(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		// Not an address (a test's made-up request): one shared key.
		return "?"
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// How many clients' worth of the per-client limits the prefixes around an
// IPv6 client may use: a /56 (what a home is usually given) and a /48 (a
// site's).
const (
	v6HomeScale = 4
	v6SiteScale = 16
)

// clientLevel is one key a client is counted under, and how many clients'
// worth of a limit it may use.
type clientLevel struct {
	key   string
	scale int
}

// clientLevels returns the keys a client key (clientKey's form) is counted
// under, widest first. An IPv6 /64 is counted at its /56 and /48 as well,
// and a limit at any level applies: one /48 holds 65,536 /64s, enough to
// fill any per-client table alone, and whoever holds a /48 can use every
// one of them. Any other key is counted only as itself.
func clientLevels(key string) []clientLevel {
	p, err := netip.ParsePrefix(key)
	if err != nil || !p.Addr().Is6() || p.Bits() != 64 || p != p.Masked() {
		return []clientLevel{{key, 1}}
	}
	site, _ := p.Addr().Prefix(48)
	home, _ := p.Addr().Prefix(56)
	return []clientLevel{{site.String(), v6SiteScale}, {home.String(), v6HomeScale}, {key, 1}}
}

// keyedLimiter is a token bucket per key in bounded memory. When full, it
// forgets the keys whose buckets have refilled (they lose nothing by it);
// when that frees nothing, new keys share one overflow bucket, so that a
// crowd of new keys can neither grow the map nor flush the keys in it.
//
// A client key is counted at each of its levels (clientLevels), each with
// the limit times the level's scale; a token is taken at every level or at
// none.
type keyedLimiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time
	// levels splits a key into the keys it is counted under; clientLevels
	// unless the keys are not clients (nil: each key only as itself).
	levels func(string) []clientLevel

	mu       sync.Mutex
	m        map[string]*rate.Limiter
	overflow *rate.Limiter
	swept    time.Time // last sweep of a full map
}

// newKeyedLimiter returns a limiter of client keys (see clientLevels).
func newKeyedLimiter(limit rate.Limit, burst int, now func() time.Time) *keyedLimiter {
	return &keyedLimiter{limit: limit, burst: burst, now: now, levels: clientLevels,
		m: map[string]*rate.Limiter{}, overflow: rate.NewLimiter(limit, burst)}
}

// allow takes a token for key (at each of its levels); when there is none
// it reports false and how long until there is.
func (k *keyedLimiter) allow(key string) (bool, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	levels := []clientLevel{{key, 1}}
	if k.levels != nil {
		levels = k.levels(key)
	}
	var taken []*rate.Reservation
	overflowTaken := false
	for _, lv := range levels {
		// Widest first: a level that refuses spares the narrower ones an
		// entry.
		l := k.limiter(lv, now)
		if l == k.overflow {
			if overflowTaken {
				continue
			}
			overflowTaken = true
		}
		r := l.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			for _, r := range taken {
				r.CancelAt(now)
			}
			return false, d
		}
		taken = append(taken, r)
	}
	return true, 0
}

// limiter returns lv's bucket: its own, a new one, or the overflow when the
// map is full.
func (k *keyedLimiter) limiter(lv clientLevel, now time.Time) *rate.Limiter {
	if l := k.m[lv.key]; l != nil {
		return l
	}
	// A sweep of a full map at most once a second: a crowd of new keys
	// must not make every request walk the whole map.
	if len(k.m) >= maxLimited && now.Sub(k.swept) >= time.Second {
		k.swept = now
		for key, l := range k.m {
			if l.TokensAt(now) >= float64(l.Burst()) {
				delete(k.m, key)
			}
		}
	}
	if len(k.m) >= maxLimited {
		return k.overflow
	}
	l := rate.NewLimiter(k.limit*rate.Limit(lv.scale), k.burst*lv.scale)
	k.m[lv.key] = l
	return l
}

// mailLimits decides whether a form may cause a mail: per recipient address
// and per client. Both count every request that could mail, whether or not
// a mail goes out (no account, a confirmed address), or the limit would
// tell which addresses have accounts.
type mailLimits struct {
	perAddress *keyedLimiter
	perClient  *keyedLimiter
	exists     *keyedLimiter
}

func newMailLimits(now func() time.Time) *mailLimits {
	every := rate.Every(MailInterval)
	m := &mailLimits{
		perAddress: newKeyedLimiter(every, MailPerAddress, now),
		perClient:  newKeyedLimiter(every, MailPerClient, now),
		exists:     newKeyedLimiter(rate.Every(ExistsNoticeInterval), 1, now),
	}
	// Addresses are not clients: each is counted only as itself.
	m.perAddress.levels, m.exists.levels = nil, nil
	return m
}

// allow returns ErrMailLimit, and how long to wait, when the address (in
// its normalised form) or the client has had its share.
func (m *mailLimits) allow(address, client string) (time.Duration, error) {
	if ok, d := m.perClient.allow(client); !ok {
		return d, ErrMailLimit
	}
	if ok, d := m.perAddress.allow(nameKey(address)); !ok {
		return d, ErrMailLimit
	}
	return 0, nil
}

// existsNotice reports whether the owner of a confirmed address may be
// told now that someone tried to sign up with it: once a day at most, so
// that sign-ups cannot be used to flood a mailbox.
func (m *mailLimits) existsNotice(address string) bool {
	ok, _ := m.exists.allow(nameKey(address))
	return ok
}
