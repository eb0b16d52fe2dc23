package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseCreateBody(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name    string
		body    string
		want    Item
		wantErr string // substring of the validation message; "" means success
		tooBig  bool
	}{
		{name: "seed shape", body: `{"User": {"UserId": "u1", "Name": "Ana", "Age": 30}}`,
			want: Item{"UserId": "u1", "Name": "Ana", "Age": json.Number("30")}},
		{name: "every type", body: `{"User":{"UserId":"u","s":"x","n":-1.5,"t":true,"f":false,"z":null,"l":[1,"a",[]],"m":{"k":{"j":[null]}}}}`,
			want: Item{"UserId": "u", "s": "x", "n": json.Number("-1.5"), "t": true, "f": false, "z": nil,
				"l": []any{json.Number("1"), "a", []any{}}, "m": map[string]any{"k": map[string]any{"j": []any{nil}}}}},
		{name: "exact big number", body: `{"User":{"UserId":"u","n":12345678901234567890.123}}`,
			want: Item{"UserId": "u", "n": json.Number("12345678901234567890.123")}},
		{name: "number canonicalised", body: `{"User":{"UserId":"u","n":1.50e2}}`,
			want: Item{"UserId": "u", "n": json.Number("150")}},
		{name: "32 levels", body: `{"User":{"UserId":"u","l":` + deep(32) + `}}`},
		{name: "33 levels", body: `{"User":{"UserId":"u","l":` + deep(33) + `}}`, wantErr: "nest more than 32"},
		{name: "empty", body: ``, wantErr: "empty"},
		{name: "blank", body: " \n\t", wantErr: "empty"},
		{name: "not json", body: `User=u1`, wantErr: "not valid JSON"},
		{name: "array", body: `[{"User":{"UserId":"u"}}]`, wantErr: "must be a JSON object"},
		{name: "trailing data", body: `{"User":{"UserId":"u"}} {}`, wantErr: "after the JSON object"},
		{name: "trailing garbage", body: `{"User":{"UserId":"u"}}x`, wantErr: "after the JSON object"},
		{name: "truncated", body: `{"User":{"UserId":"u"`, wantErr: "ends before"},
		{name: "unknown top-level key", body: `{"User":{"UserId":"u"},"Admin":true}`, wantErr: `unknown field "Admin"`},
		{name: "User twice", body: `{"User":{"UserId":"u"},"User":{"UserId":"v"}}`, wantErr: "more than once"},
		{name: "no User", body: `{}`, wantErr: `no "User"`},
		{name: "User not object", body: `{"User":"u"}`, wantErr: `"User" must be a JSON object`},
		{name: "User null", body: `{"User":null}`, wantErr: `"User" must be a JSON object`},
		{name: "no UserId", body: `{"User":{"Name":"x"}}`, wantErr: `no "UserId"`},
		{name: "numeric UserId", body: `{"User":{"UserId":42}}`, wantErr: `must be a string, not a number`},
		{name: "null UserId", body: `{"User":{"UserId":null}}`, wantErr: `not null`},
		{name: "empty UserId", body: `{"User":{"UserId":""}}`, wantErr: `must not be empty`},
		{name: "long UserId", body: `{"User":{"UserId":"` + strings.Repeat("x", 257) + `"}}`, wantErr: `257 bytes`},
		{name: "256-byte UserId", body: `{"User":{"UserId":"` + strings.Repeat("é", 128) + `"}}`,
			want: Item{"UserId": strings.Repeat("é", 128)}},
		{name: "control char in UserId", body: `{"User":{"UserId":"a\u0007b"}}`, wantErr: "control characters"},
		{name: "C1 control in UserId", body: `{"User":{"UserId":"a\u0085b"}}`, wantErr: "control characters"},
		{name: "invalid utf-8", body: "{\"User\":{\"UserId\":\"\xff\"}}", wantErr: "not valid UTF-8"},
		{name: "lone high surrogate escape", body: `{"User":{"UserId":"\ud800"}}`, wantErr: "unpaired UTF-16 surrogate"},
		{name: "lone low surrogate escape", body: `{"User":{"UserId":"u","x":"a\uDC00"}}`, wantErr: "unpaired UTF-16 surrogate"},
		{name: "high surrogate then text", body: `{"User":{"UserId":"u","x":"\ud83dx\ude00"}}`, wantErr: "unpaired UTF-16 surrogate"},
		{name: "surrogate pair", body: `{"User":{"UserId":"\ud83d\ude00"}}`, want: Item{"UserId": "😀"}},
		{name: "escaped backslash before u", body: `{"User":{"UserId":"\\ud800"}}`, want: Item{"UserId": `\ud800`}},
		{name: "duplicate attribute", body: `{"User":{"UserId":"u","a":1,"a":2}}`, wantErr: `"a" appears more than once`},
		{name: "duplicate nested", body: `{"User":{"UserId":"u","m":{"k":1,"k":1}}}`, wantErr: `"k" appears more than once`},
		{name: "empty attribute name", body: `{"User":{"UserId":"u","":1}}`, wantErr: "must not be empty"},
		{name: "CreatedAt set", body: `{"User":{"UserId":"u","CreatedAt":"2020-01-01T00:00:00Z"}}`, wantErr: `"CreatedAt" is set by the service`},
		{name: "CreatedBy set", body: `{"User":{"UserId":"u","CreatedBy":"me"}}`, wantErr: `"CreatedBy" is set by the service`},
		{name: "createdBy lower case", body: `{"User":{"UserId":"u","createdBy":"me"}}`, wantErr: `"createdBy" differs from the service's own "CreatedBy" only by case or invisible characters`},
		{name: "CreatedBy zero-width space", body: `{"User":{"UserId":"u","CreatedBy\u200b":"me"}}`, wantErr: `"CreatedBy\u200b" differs from the service's own "CreatedBy"`},
		{name: "CreatedAt word joiner inside", body: `{"User":{"UserId":"u","Created\u2060At":"x"}}`, wantErr: `the service's own "CreatedAt"`},
		{name: "CreatedAt BOM first", body: `{"User":{"UserId":"u","\ufeffCreatedAt":"x"}}`, wantErr: `the service's own "CreatedAt"`},
		{name: "CreatedBy soft hyphen", body: `{"User":{"UserId":"u","Created\u00adBy":"x"}}`, wantErr: `the service's own "CreatedBy"`},
		{name: "CreatedBy trailing space", body: `{"User":{"UserId":"u","CreatedBy ":"x"}}`, wantErr: `the service's own "CreatedBy"`},
		{name: "CreatedBy no-break space inside", body: `{"User":{"UserId":"u","Created\u00a0By":"x"}}`, wantErr: `the service's own "CreatedBy"`},
		{name: "CreatedBy combining mark", body: `{"User":{"UserId":"u","CreatedBy\u0301":"x"}}`, wantErr: `the service's own "CreatedBy"`},
		{name: "CreatedBy variation selector", body: `{"User":{"UserId":"u","CreatedBy\ufe0f":"x"}}`, wantErr: `the service's own "CreatedBy"`},
		{name: "CreatedBy Hangul filler", body: `{"User":{"UserId":"u","CreatedBy\u3164":"x"}}`, wantErr: `the service's own "CreatedBy"`},
		{name: "CreatedBy full-width", body: `{"User":{"UserId":"u","ＣｒｅａｔｅｄＢｙ":"x"}}`, wantErr: `the service's own "CreatedBy"`},
		{name: "CREATEDAT upper case", body: `{"User":{"UserId":"u","CREATEDAT":"x"}}`, wantErr: `the service's own "CreatedAt"`},
		{name: "userid beside UserId", body: `{"User":{"UserId":"u","userid":"v"}}`, wantErr: `the service's own "UserId"`},
		{name: "UserId with zero-width joiner", body: `{"User":{"UserId":"u","User\u200dId":"v"}}`, wantErr: `the service's own "UserId"`},
		{name: "long padding of zero-width spaces", body: `{"User":{"UserId":"u","CreatedBy` + strings.Repeat(`\u200b`, 500) + `":"x"}}`, wantErr: `the service's own "CreatedBy"`},
		{name: "a name that only starts alike", body: `{"User":{"UserId":"u","CreatedByTeam":"x","created_by":"y"}}`,
			want: Item{"UserId": "u", "CreatedByTeam": "x", "created_by": "y"}},
		{name: "39 digits", body: `{"User":{"UserId":"u","n":123456789012345678901234567890123456789}}`, wantErr: "39 significant digits"},
		{name: "too big", body: `{"User":{"UserId":"u","n":1e126}}`, wantErr: "out of DynamoDB's range"},
		{name: "too small", body: `{"User":{"UserId":"u","n":1e-131}}`, wantErr: "out of DynamoDB's range"},
		{name: "huge exponent", body: `{"User":{"UserId":"u","n":1e99999999999999999999}}`, wantErr: "is not a number"},
		{name: "item over 400 KB", body: `{"User":{"UserId":"u","a":"` + strings.Repeat("x", MaxItemBytes) + `"}}`, tooBig: true},
		{name: "body over 1 MiB", body: `{"User":{"UserId":"u","a":"` + strings.Repeat("x", MaxBodyBytes) + `"}}`, tooBig: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCreateBody([]byte(tt.body))
			switch {
			case tt.tooBig:
				if !errors.Is(err, ErrItemTooLarge) && !errors.Is(err, ErrBodyTooLarge) {
					t.Fatalf("err = %v, want a too-large error", err)
				}
			case tt.wantErr != "":
				var verr *ValidationError
				if !errors.As(err, &verr) || !strings.Contains(verr.Message, tt.wantErr) {
					t.Fatalf("err = %v, want a ValidationError containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != nil && !reflect.DeepEqual(got, tt.want):
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestCanonicalNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"}, {"-0", "0"}, {"0.000", "0"}, {"0e5", "0"}, {"0e99999999999999999999", "0"}, {"-0.0e-2000000000000", "0"},
		{"1", "1"}, {"-1", "-1"}, {"10", "10"}, {"1.50", "1.5"}, {"1.0", "1"},
		{"1e2", "100"}, {"1E+2", "100"}, {"1.5e-3", "0.0015"}, {"-12.34e1", "-123.4"},
		{"12345678901234567890.123", "12345678901234567890.123"},
		{"99999999999999999999999999999999999999", "99999999999999999999999999999999999999"},
		{"1e-130", "0." + strings.Repeat("0", 129) + "1"},
		{"9.9e125", "99" + strings.Repeat("0", 124)},
		{"100000000000000000000000000000000000000000", "1" + strings.Repeat("0", 41)},
		{"0.00000000000000000000000000000000000000000001", "0." + strings.Repeat("0", 43) + "1"},
	}
	for _, tt := range tests {
		got, err := CanonicalNumber(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("CanonicalNumber(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "-", "+1", "01", "1.", ".5", "1e", "1e+", "1e++5", "1e+-5", "0x10", "NaN", "Infinity",
		"1e126", "-1e126", "1e-131", "1234567890123456789012345678901234567891", "1e9223372036854775807"} {
		if got, err := CanonicalNumber(bad); err == nil {
			t.Errorf("CanonicalNumber(%q) = %q, want an error", bad, got)
		}
	}
}

func TestItemSize(t *testing.T) {
	tests := []struct {
		name string
		item Item
		want int
	}{
		{"string", Item{"UserId": "abc"}, 6 + 3},
		{"utf-8 bytes", Item{"k": "é"}, 1 + 2},
		{"number digits", Item{"n": json.Number("12345")}, 1 + 1 + 3},
		{"number trailing zeros", Item{"n": json.Number("1000")}, 1 + 1 + 1},
		{"zero", Item{"n": json.Number("0")}, 1 + 1},
		{"two digits aligned", Item{"n": json.Number("12")}, 1 + 1 + 1},
		{"two digits across the point", Item{"n": json.Number("1.2")}, 1 + 1 + 1 + 1},
		{"negative", Item{"n": json.Number("-1")}, 1 + 1 + 1 + 1},
		{"small fraction", Item{"n": json.Number("0.05")}, 1 + 1 + 1},
		{"bool and null", Item{"b": true, "z": nil}, 2 + 2},
		{"list", Item{"l": []any{"ab", json.Number("1")}}, 1 + 3 + (1 + 2) + (1 + 2)},
		{"map", Item{"m": map[string]any{"key": "v"}}, 1 + 3 + 1 + 3 + 1},
	}
	for _, tt := range tests {
		if got := ItemSize(tt.item); got != tt.want {
			t.Errorf("%s: ItemSize = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCursorRoundTripAndTamper(t *testing.T) {
	filters := []string{"", "sub", "0b7d2c64-1e5f-4a3b-9c8d-7e6f5a4b3c2d", "é 🔑", strings.Repeat("s", MaxCreatedByBytes)}
	for _, by := range filters {
		for _, id := range []string{"a", "user 1/2?x=&y", strings.Repeat("é", 128)} {
			got, err := decodeCursor(encodeCursor(id, by), by)
			if err != nil || got != id {
				t.Fatalf("round trip %q (createdBy %q) = %q, %v", id, by, got, err)
			}
		}
		c := encodeCursor("alice", by)
		tampered := []string{"", "x", c[:len(c)-1], c + "A", strings.Replace(c, c[5:6], string(c[5]^1), 1),
			encodeCursor("alice", by)[:3] + encodeCursor("bob", by)[3:], "!!!!", strings.Repeat("A", 1000)}
		for _, s := range tampered {
			if s == c {
				continue
			}
			if id, err := decodeCursor(s, by); err == nil {
				t.Errorf("decodeCursor(%q, %q) = %q, want an error", s, by, id)
			}
		}
		// A cursor is good only in the listing that issued it.
		for _, other := range append(filters, "Sub", "sub ", "su") {
			if other == by {
				continue
			}
			if id, err := decodeCursor(c, other); err == nil {
				t.Errorf("a cursor of createdBy %q decoded with createdBy %q as %q", by, other, id)
			}
		}
	}
	// The unfiltered listing's cursors are what they were before filters
	// existed, so a cursor in a browser's history survives the upgrade.
	if got := encodeCursor("alice", ""); got != "Ac8oexPhY2sJYWxpY2U" {
		t.Errorf("encodeCursor(alice) = %q, changed", got)
	}
}

func TestValidateCreatedBy(t *testing.T) {
	for _, ok := range []string{"s", "0b7d2c64-1e5f-4a3b-9c8d-7e6f5a4b3c2d", "é 🔑", `q"u'o\te`, strings.Repeat("s", MaxCreatedByBytes), strings.Repeat("é", MaxCreatedByBytes/2)} {
		if err := ValidateCreatedBy(ok); err != nil {
			t.Errorf("ValidateCreatedBy(%q): %v", ok, err)
		}
	}
	for in, msg := range map[string]string{
		"":                                       `query parameter "createdBy" must not be empty`,
		strings.Repeat("s", MaxCreatedByBytes+1): `query parameter "createdBy" is 257 bytes long; at most 256 are allowed`,
		strings.Repeat("é", MaxCreatedByBytes/2) + "s": `query parameter "createdBy" is 257 bytes long; at most 256 are allowed`,
		"a\xffb":       `query parameter "createdBy" is not valid UTF-8`,
		"\xed\xa0\x80": `query parameter "createdBy" is not valid UTF-8`, // a surrogate
		"a\x00b":       `query parameter "createdBy" must not contain control characters`,
		"a\nb":         `query parameter "createdBy" must not contain control characters`,
		"a\x7f":        `query parameter "createdBy" must not contain control characters`,
		"a\u0085":      `query parameter "createdBy" must not contain control characters`,
	} {
		err := ValidateCreatedBy(in)
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Message != msg {
			t.Errorf("ValidateCreatedBy(%q) = %v, want %q", in, err, msg)
		}
	}
}

func TestParseClaimList(t *testing.T) {
	tests := map[string][]string{
		"[admins other]":   {"admins", "other"},
		"[admins]":         {"admins"},
		"admins":           {"admins"},
		"[]":               nil,
		"":                 nil,
		"[administrators]": {"administrators"},
	}
	for in, want := range tests {
		if got := parseClaimList(in); len(got)+len(want) > 0 && !reflect.DeepEqual(got, want) {
			t.Errorf("parseClaimList(%q) = %q, want %q", in, got, want)
		}
	}
}
