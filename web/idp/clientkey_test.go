package idp

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// v6Client is clientKey of a request from host 1 of the i-th /64 of the
// /48 2001:db8:<site>::/48.
func v6Client(site, i int) string {
	return clientKey(&http.Request{RemoteAddr: fmt.Sprintf("[2001:db8:%x:%x::1]:1000", site, i)})
}

func TestClientLevels(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want []clientLevel
	}{
		{"192.0.2.1", []clientLevel{{"192.0.2.1", 1}}},
		{"?", []clientLevel{{"?", 1}}},
		{"2001:db8:1:2::/64", []clientLevel{{"2001:db8:1::/48", v6SiteScale}, {"2001:db8:1::/56", v6HomeScale}, {"2001:db8:1:2::/64", 1}}},
		{"2001:db8:1:2a02::/64", []clientLevel{{"2001:db8:1::/48", v6SiteScale}, {"2001:db8:1:2a00::/56", v6HomeScale}, {"2001:db8:1:2a02::/64", 1}}},
		// Not clientKey's form: only itself.
		{"2001:db8:1:2::5/64", []clientLevel{{"2001:db8:1:2::5/64", 1}}},
		{"2001:db8::/48", []clientLevel{{"2001:db8::/48", 1}}},
		{"someone@example.com", []clientLevel{{"someone@example.com", 1}}},
	} {
		got := clientLevels(tc.key)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("clientLevels(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
	if got := v6Client(1, 2); got != "2001:db8:1:2::/64" {
		t.Errorf("clientKey = %q", got)
	}
}

// The attack found by review: one /48 is 65,536 /64 clients, enough to
// fill a per-client table, after which every new client (anyone) shares
// one overflow bucket. Counted at /56 and /48 as well, the /48 gets its
// site's share and no more; the table keeps room for everyone else.
func TestOneV6SiteCannotFillTheLimiter(t *testing.T) {
	k := newKeyedLimiter(HashRate, HashBurst, time.Now)
	allowed := 0
	for i := range 1 << 16 {
		if ok, _ := k.allow(v6Client(1, i)); ok {
			allowed++
		}
	}
	if allowed > v6SiteScale*HashBurst+v6SiteScale {
		t.Errorf("one /48 took %d tokens, want at most its share, about %d", allowed, v6SiteScale*HashBurst)
	}
	if n := len(k.m); n >= maxLimited/10 {
		t.Errorf("one /48 holds %d of the table's %d entries", n, maxLimited)
	}
	// Someone else, from IPv4 or another /48, still has a whole burst of
	// their own.
	for _, other := range []string{"192.0.2.1", v6Client(2, 0)} {
		for i := range HashBurst {
			if ok, _ := k.allow(other); !ok {
				t.Fatalf("%s refused after %d tries: the /48's flood took its bucket", other, i)
			}
		}
	}
}

// A limit at any level applies: a /56 has its home's share however many
// /64s it spreads over, and one /64 no more than a client's.
func TestV6LevelsEachLimit(t *testing.T) {
	k := newKeyedLimiter(HashRate, HashBurst, time.Now)
	took := func(key string, n int) int {
		got := 0
		for range n {
			if ok, _ := k.allow(key); ok {
				got++
			}
		}
		return got
	}
	if got := took(v6Client(1, 0), 3*HashBurst); got < HashBurst || got > HashBurst+1 {
		t.Errorf("one /64 took %d, want its burst %d", got, HashBurst)
	}
	home := 0
	for i := range 256 { // every /64 of 2001:db8:1::/56
		home += took(v6Client(1, i), HashBurst)
	}
	if want := v6HomeScale * HashBurst; home+HashBurst < want || home+HashBurst > want+2 {
		t.Errorf("one /56 took %d in all, want its share %d", home+HashBurst, want)
	}
}

// The lockout's client table too: a /48 that spreads its failures over its
// /64s is locked as a site.
func TestLockoutPerV6Site(t *testing.T) {
	l := newLockout(time.Now)
	allowed := 0
	for i := range 1 << 12 {
		if ok, _ := l.beginFrom(fmt.Sprintf("n%d@example.com", i), v6Client(1, i)); ok {
			allowed++
		}
	}
	if want := v6SiteScale * ClientLockoutThreshold; allowed != want {
		t.Errorf("one /48 tried %d passwords, want %d", allowed, want)
	}
	if ok, _ := l.beginFrom("fresh@example.com", v6Client(2, 0)); !ok {
		t.Error("another /48 is locked too")
	}
}
