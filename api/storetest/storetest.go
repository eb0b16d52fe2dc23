// Package storetest is the contract every api.Store implementation must
// keep, as a test suite: each implementation's tests call Run with a
// constructor for a fresh store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/usersvc/usersvc/api"
)

// Run checks that the stores newStore makes keep the api.Store contract.
// newStore must return a new, empty store on every call; Run calls it once
// per subtest and arranges nothing for cleanup, so newStore should register
// its own with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) api.Store) {
	t.Helper()
	tests := []struct {
		name string
		test func(t *testing.T, s api.Store)
	}{
		{"GetMissing", testGetMissing},
		{"CreateThenGet", testCreateThenGet},
		{"CreateTwiceKeepsFirst", testCreateTwice},
		{"EmptyList", testEmptyList},
		{"ListPages", testListPages},
		{"ListCreatedBy", testListCreatedBy},
		{"ListCreatedByEmpty", testListCreatedByEmpty},
		{"ListCreatedByAmongMany", testListCreatedByAmongMany},
		{"ConcurrentCreate", testConcurrentCreate},
		{"NumbersExact", testNumbersExact},
		{"AwkwardUserIds", testAwkwardUserIDs},
		{"CancelledContext", testCancelledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.test(t, newStore(t))
		})
	}
}

func user(id string, attrs ...any) api.Item {
	item := api.Item{api.AttrUserID: id}
	for i := 0; i+1 < len(attrs); i += 2 {
		item[attrs[i].(string)] = attrs[i+1]
	}
	return item
}

func mustCreate(t *testing.T, s api.Store, item api.Item) {
	t.Helper()
	if err := s.CreateUser(t.Context(), item); err != nil {
		t.Fatalf("CreateUser(%q): %v", item[api.AttrUserID], err)
	}
}

func mustGet(t *testing.T, s api.Store, id string) api.Item {
	t.Helper()
	got, err := s.GetUser(t.Context(), id)
	if err != nil {
		t.Fatalf("GetUser(%q): %v", id, err)
	}
	return got
}

func assertItem(t *testing.T, got, want api.Item) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("item differs\n got: %s\nwant: %s\n(got %#v)", g, w, got)
	}
}

func testGetMissing(t *testing.T, s api.Store) {
	_, err := s.GetUser(t.Context(), "nobody")
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("GetUser of a missing id: err = %v, want ErrNotFound", err)
	}
	// A store with items still reports the missing one as missing.
	mustCreate(t, s, user("somebody"))
	if _, err := s.GetUser(t.Context(), "nobody"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("GetUser of a missing id beside another: err = %v, want ErrNotFound", err)
	}
}

// richItem has every kind of value an Item may hold, nested.
func richItem(id string) api.Item {
	return user(id,
		"Name", "Ada Lovelace",
		"Empty", "",
		"Age", json.Number("36"),
		"Ratio", json.Number("-0.5"),
		"Admin", true,
		"Banned", false,
		"Nothing", nil,
		"Tags", []any{"a", json.Number("1"), false, nil, []any{}, map[string]any{}},
		"EmptyList", []any{},
		"EmptyMap", map[string]any{},
		"Address", map[string]any{
			"Street": "12 Rue de la Paix",
			"Zip":    json.Number("75002"),
			"Geo":    map[string]any{"Lat": json.Number("48.8698"), "Lng": json.Number("2.3316"), "Exact": nil},
			"Lines":  []any{map[string]any{"n": json.Number("1")}, []any{"x", []any{true}}},
		},
		"Unicode ключ 🔑", "значение ✓",
	)
}

func testCreateThenGet(t *testing.T, s api.Store) {
	want := richItem("ada")
	mustCreate(t, s, richItem("ada"))
	assertItem(t, mustGet(t, s, "ada"), want)
}

func testCreateTwice(t *testing.T, s api.Store) {
	first := user("twice", "Name", "first", "N", json.Number("1"))
	mustCreate(t, s, first)
	err := s.CreateUser(t.Context(), user("twice", "Name", "second", "Extra", true))
	if !errors.Is(err, api.ErrExists) {
		t.Fatalf("second CreateUser: err = %v, want ErrExists", err)
	}
	assertItem(t, mustGet(t, s, "twice"), user("twice", "Name", "first", "N", json.Number("1")))
}

func testEmptyList(t *testing.T, s api.Store) {
	for _, limit := range []int{1, 25, 100} {
		page, err := s.ListUsers(t.Context(), api.ListQuery{Limit: limit})
		if err != nil {
			t.Fatalf("ListUsers(%d) of an empty store: %v", limit, err)
		}
		if len(page.Items) != 0 || page.Next != "" {
			t.Fatalf("ListUsers(%d) of an empty store = %d items, Next %q; want none", limit, len(page.Items), page.Next)
		}
	}
}

// listAll pages through s with q (whose After it ignores) and returns how
// often each UserId was seen, failing on a page larger than q.Limit or a
// listing that never ends. Filtered pages may be short, even empty.
func listAll(t *testing.T, s api.Store, q api.ListQuery) map[string]int {
	t.Helper()
	seen := map[string]int{}
	q.After = ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("%+v: listing does not end", q)
		}
		page, err := s.ListUsers(t.Context(), q)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", q, err)
		}
		if len(page.Items) > q.Limit {
			t.Fatalf("ListUsers(%+v) returned %d items", q, len(page.Items))
		}
		for _, item := range page.Items {
			id, ok := item[api.AttrUserID].(string)
			if !ok {
				t.Fatalf("listed item without a string UserId: %v", item)
			}
			seen[id]++
		}
		if page.Next == "" {
			return seen
		}
		if page.Next == q.After {
			t.Fatalf("ListUsers(%+v): Next does not move on", q)
		}
		q.After = page.Next
	}
}

func testListPages(t *testing.T, s api.Store) {
	const n = 23
	want := map[string]api.Item{}
	for i := range n {
		item := user(fmt.Sprintf("user-%02d", i), "I", json.Number(fmt.Sprint(i)), "Nested", map[string]any{"i": []any{json.Number(fmt.Sprint(i))}})
		want[item[api.AttrUserID].(string)] = item
		mustCreate(t, s, item)
	}
	for _, limit := range []int{1, 2, 7, 23, 100} {
		seen := listAll(t, s, api.ListQuery{Limit: limit})
		for id, count := range seen {
			if _, ok := want[id]; !ok {
				t.Errorf("limit %d: listed unknown UserId %q", limit, id)
			} else if count != 1 {
				t.Errorf("limit %d: %q listed %d times", limit, id, count)
			}
		}
		for id := range want {
			if seen[id] == 0 {
				t.Errorf("limit %d: %q never listed", limit, id)
			}
		}
	}
	// Listed items are whole items, not just keys.
	page, err := s.ListUsers(t.Context(), api.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != n {
		t.Fatalf("ListUsers(100) over %d items returned %d, Next %q", n, len(page.Items), page.Next)
	}
	for _, got := range page.Items {
		assertItem(t, got, want[got[api.AttrUserID].(string)])
	}
}

// creators are the subs items are stamped with in the filter tests: near
// misses of one another (prefix, case, Unicode normalisation, whitespace),
// and characters that would break a hand-built filter expression.
var creators = []string{
	"0b7d2c64-1e5f-4a3b-9c8d-7e6f5a4b3c2d",
	"0b7d2c64-1e5f-4a3b-9c8d-7e6f5a4b3c2",  // a prefix of the first
	"0B7D2C64-1E5F-4A3B-9C8D-7E6F5A4B3C2D", // the first in upper case
	"sub",
	"sub ",
	"Sub",
	"café",       // precomposed é
	"cafe\u0301", // e and a combining acute: canonically equal, other bytes
	`q"u'o\te :by #by`,
	"日本 🔑",
	strings.Repeat("s", api.MaxCreatedByBytes),
}

// createdByItem is the i-th item whose CreatedBy is sub, as the API
// stores it.
func createdByItem(id, sub string, i int) api.Item {
	return user(id, api.AttrCreatedBy, sub, api.AttrCreatedAt, "2026-11-25T10:20:00.123Z",
		"I", json.Number(fmt.Sprint(i)), "Nested", map[string]any{"by": sub})
}

// assertListing checks that listing s by each sub in want with each of
// limits returns exactly want[sub]'s items, each once, whole.
func assertListing(t *testing.T, s api.Store, want map[string]map[string]api.Item, limits []int) {
	t.Helper()
	for sub, items := range want {
		for _, limit := range limits {
			seen := listAll(t, s, api.ListQuery{Limit: limit, CreatedBy: sub})
			for id, count := range seen {
				if _, ok := items[id]; !ok {
					t.Errorf("createdBy %q, limit %d: listed %q, created by someone else", sub, limit, id)
				} else if count != 1 {
					t.Errorf("createdBy %q, limit %d: %q listed %d times", sub, limit, id, count)
				}
			}
			for id := range items {
				if seen[id] == 0 {
					t.Errorf("createdBy %q, limit %d: %q never listed", sub, limit, id)
				}
			}
		}
	}
	// Listed items are whole items.
	for sub, items := range want {
		q := api.ListQuery{Limit: 100, CreatedBy: sub}
		for pages := 0; ; pages++ {
			if pages > 1000 {
				t.Fatalf("createdBy %q: listing does not end", sub)
			}
			page, err := s.ListUsers(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range page.Items {
				assertItem(t, got, items[got[api.AttrUserID].(string)])
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
	}
}

func testListCreatedBy(t *testing.T, s api.Store) {
	want := map[string]map[string]api.Item{}
	n := 0
	for c, sub := range creators {
		want[sub] = map[string]api.Item{}
		// The first creator has many items, the others a few.
		count := 1 + c%3
		if c == 0 {
			count = 11
		}
		for range count {
			item := createdByItem(fmt.Sprintf("item-%03d", n), sub, n)
			want[sub][item[api.AttrUserID].(string)] = item
			mustCreate(t, s, item)
			n++
		}
	}
	// Items no sub created: none (the seed's items), CreatedBy of another
	// type, and a sub hidden inside a value.
	for i, item := range []api.Item{
		user("other-none", "Name", "seed"),
		user("other-number", api.AttrCreatedBy, json.Number("7")),
		user("other-null", api.AttrCreatedBy, nil),
		user("other-list", api.AttrCreatedBy, []any{creators[0]}),
		user("other-map", api.AttrCreatedBy, map[string]any{"S": creators[0]}),
		user("other-bool", api.AttrCreatedBy, true),
		user("other-nested", "Meta", map[string]any{api.AttrCreatedBy: creators[0]}),
		user("other-"+creators[0], "Owner", creators[0]),
	} {
		item["I"] = json.Number(fmt.Sprint(i))
		mustCreate(t, s, item)
	}
	want["7"] = map[string]api.Item{}
	want["nobody"] = map[string]api.Item{}
	want["true"] = map[string]api.Item{}
	assertListing(t, s, want, []int{1, 2, 3, 7, 100})
	// The whole listing still lists everything once.
	seen := listAll(t, s, api.ListQuery{Limit: 7})
	if len(seen) != n+8 {
		t.Errorf("unfiltered listing: %d items, want %d", len(seen), n+8)
	}
}

func testListCreatedByEmpty(t *testing.T, s api.Store) {
	for _, limit := range []int{1, 25, 100} {
		if seen := listAll(t, s, api.ListQuery{Limit: limit, CreatedBy: creators[0]}); len(seen) != 0 {
			t.Errorf("limit %d: an empty store listed %v", limit, seen)
		}
	}
	mustCreate(t, s, createdByItem("only", creators[1], 0))
	if seen := listAll(t, s, api.ListQuery{Limit: 1, CreatedBy: creators[0]}); len(seen) != 0 {
		t.Errorf("a store of another's item listed %v", seen)
	}
}

// testListCreatedByAmongMany hides a few matches among many other items,
// so that a store that filters after reading a bounded batch must read
// on (or hand out cursors) to find them all.
func testListCreatedByAmongMany(t *testing.T, s api.Store) {
	const n = 300
	want := map[string]map[string]api.Item{"rare": {}, "common": {}}
	for i := range n {
		sub := "common"
		if i%61 == 60 {
			sub = "rare"
		}
		item := createdByItem(fmt.Sprintf("many-%03d", i), sub, i)
		want[sub][item[api.AttrUserID].(string)] = item
		mustCreate(t, s, item)
	}
	assertListing(t, s, want, []int{1, 2, 25, 100})
}

func testConcurrentCreate(t *testing.T, s api.Store) {
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreateUser(t.Context(), user("contended", "Writer", json.Number(fmt.Sprint(i))))
		})
	}
	close(start)
	wg.Wait()
	winner, exists := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("writers %d and %d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, api.ErrExists):
			exists++
		default:
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if winner < 0 || exists != n-1 {
		t.Fatalf("%d concurrent creates: winner %d, %d ErrExists; want one winner and %d ErrExists", n, winner, exists, n-1)
	}
	assertItem(t, mustGet(t, s, "contended"), user("contended", "Writer", json.Number(fmt.Sprint(winner))))
}

// numbers are in the canonical form api.CanonicalNumber gives, the only form
// a store is handed: plain decimal, no exponent, no trailing fractional zeros.
var numbers = []string{
	"0",
	"1",
	"-1",
	"42",
	"3.14159",
	"12345678901234567890.123",
	"-12345678901234567890.123",
	"99999999999999999999999999999999999999", // 38 nines
	"-99999999999999999999999999999999999999",  // and negative
	"0.00000000000000000000000000000000000001", // 1E-38
	"-0.000000000000000000000000000000000001",
	"1.0000000000000000000000000000000000001", // 38 significant digits
	"9007199254740993",                        // 2^53 + 1: float64 rounds it
	"0.1",
	"1" + strings.Repeat("0", 125),                    // 1E+125
	strings.Repeat("9", 38) + strings.Repeat("0", 88), // just below 1E+126
	"0." + strings.Repeat("0", 129) + "1",             // 1E-130
	"-0." + strings.Repeat("0", 129) + "12345678901234567890123456789012345678",
}

func testNumbersExact(t *testing.T, s api.Store) {
	list := make([]any, len(numbers))
	for i, n := range numbers {
		list[i] = json.Number(n)
	}
	for i, n := range numbers {
		id := fmt.Sprintf("number-%02d", i)
		mustCreate(t, s, user(id, "N", json.Number(n), "L", list, "M", map[string]any{"n": json.Number(n)}))
		got := mustGet(t, s, id)
		if got["N"] != json.Number(n) {
			t.Errorf("number %s came back as %v", n, got["N"])
		}
	}
	assertItem(t, mustGet(t, s, "number-00"), user("number-00", "N", json.Number("0"), "L", list, "M", map[string]any{"n": json.Number("0")}))
}

func testAwkwardUserIDs(t *testing.T, s api.Store) {
	ids := []string{
		"with space",
		" leading and trailing ",
		"a/b/../c",
		"?query=1&x=%20",
		"100%",
		"#fragment",
		"+plus+",
		"quote\"and'apostrophe",
		`back\slash`,
		"ünïcödé",
		"日本語のユーザー",
		"emoji 🧑‍💻",
		"\u00a0nbsp",
		"x",
		strings.Repeat("a", api.MaxUserIDBytes),
		strings.Repeat("é", api.MaxUserIDBytes/2), // 256 bytes of 2-byte runes
		strings.Repeat("🔑", api.MaxUserIDBytes/4),
	}
	for _, id := range ids {
		mustCreate(t, s, user(id, "Id", id))
	}
	for _, id := range ids {
		assertItem(t, mustGet(t, s, id), user(id, "Id", id))
		if err := s.CreateUser(t.Context(), user(id)); !errors.Is(err, api.ErrExists) {
			t.Errorf("CreateUser(%q) again: err = %v, want ErrExists", id, err)
		}
	}
	// Similar ids stay distinct.
	for _, id := range []string{"With space", "with space ", "a/b/c", "100"} {
		if _, err := s.GetUser(t.Context(), id); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("GetUser(%q): err = %v, want ErrNotFound", id, err)
		}
	}
	seen := listAll(t, s, api.ListQuery{Limit: 5})
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%q listed %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(ids) {
		t.Errorf("listed %d ids, want %d", len(seen), len(ids))
	}
}

func testCancelledContext(t *testing.T, s api.Store) {
	mustCreate(t, s, user("present"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetUser(ctx, "present"); err == nil {
		t.Error("GetUser with a cancelled context succeeded")
	}
	if err := s.CreateUser(ctx, user("new")); err == nil {
		t.Error("CreateUser with a cancelled context succeeded")
	}
	if _, err := s.ListUsers(ctx, api.ListQuery{Limit: 10}); err == nil {
		t.Error("ListUsers with a cancelled context succeeded")
	}
	if _, err := s.ListUsers(ctx, api.ListQuery{Limit: 10, CreatedBy: "sub"}); err == nil {
		t.Error("filtered ListUsers with a cancelled context succeeded")
	}
	// Whatever a cancelled create did, it did not report success; the store
	// still works with a live context.
	mustGet(t, s, "present")
}
