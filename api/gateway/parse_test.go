package gateway

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzDecodeResponse feeds arbitrary function output to the response
// decoder: it must never panic, and what it accepts must be a real status.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"statusCode":201,"headers":{"A":"b"},"cookies":["c=d"],"body":"e"}`,
		`{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`,
		`{"statusCode":"200"}`, `{"statusCode":null}`, `"hello"`, `[1,2]`, `{"a":{"statusCode":1}}`,
		`{"headers":5}`, ``, `{`, `  {"statusCode": 404}  `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		resp, err := decodeResponse(out)
		if err != nil {
			return
		}
		if resp.status < 100 || resp.status > 599 {
			t.Fatalf("accepted status %d", resp.status)
		}
		for k, v := range resp.headers {
			if !validHeader(k, v) {
				t.Fatalf("accepted header %q: %q", k, v)
			}
		}
	})
}

// FuzzQueryParameters checks the format 2.0 query map against net/url:
// the same keys, and each value the comma-joined values net/url finds.
func FuzzQueryParameters(f *testing.F) {
	for _, s := range []string{"a=1&a=2&b=x%20y&c", "UserId=ana-01", "&&=&", "a=%zz", "a+b=c+d", "k=v;w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := queryParameters(raw)
		want, err := url.ParseQuery(raw)
		if err != nil || strings.Contains(raw, ";") {
			return // net/url refuses what API Gateway passes on as written
		}
		for k, vs := range want {
			if got[k] != strings.Join(vs, ",") {
				t.Fatalf("%q: %q = %q, want %q", raw, k, got[k], strings.Join(vs, ","))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d keys, want %d", raw, len(got), len(want))
		}
	})
}
