package gateway

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzAppendEvent holds the hand-written event encoder to encoding/json:
// the same event must decode to the same value from both.
func FuzzAppendEvent(f *testing.F) {
	f.Add("GET /user", "/user", "UserId=a&b=%20", "ana", "Bearer x.y.z", "[admins]", "{\"a\":1}", true, int64(1795602000000))
	f.Add("", "", "", "\u2028\x00\x1f\"\\", "\xff\xfe", "\ttab\nnl\r", "</script>&", false, int64(-1))
	f.Fuzz(func(t *testing.T, key, path, query, cookie, header, claim, body string, b64 bool, epoch int64) {
		ev := &event{
			Version: "2.0", RouteKey: key, RawPath: path, RawQueryString: query,
			Headers:               map[string]string{"authorization": header, header: claim},
			QueryStringParameters: map[string]string{query: body},
			RequestContext: requestContext{
				AccountID: "1", APIID: key, DomainName: path, DomainPrefix: cookie,
				HTTP:      httpContext{Method: key, Path: path, Protocol: "HTTP/1.1", SourceIP: cookie, UserAgent: header},
				RequestID: claim, RouteKey: key, Stage: "$default", Time: body, TimeEpoch: epoch,
				Authorizer: &authorizer{JWT: jwtContext{Claims: map[string]string{"sub": claim, cookie: body}}},
			},
			Body:            &body,
			IsBase64Encoded: b64,
		}
		if cookie != "" {
			ev.Cookies = []string{cookie, claim}
			ev.PathParameters = map[string]string{"p": cookie}
			ev.RequestContext.Authorizer.JWT.Scopes = []string{claim}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(ev); err != nil {
			t.Fatal(err)
		}
		got := appendEvent(nil, ev)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("appendEvent wrote invalid JSON: %v\n%s", err, got)
		}
		json.Unmarshal(want.Bytes(), &w)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("appendEvent differs from encoding/json\n got: %s\nwant: %s", got, want.Bytes())
		}
	})
}

// FuzzAccessLogLine holds the hand-written access log line to
// encoding/json's encoding of the seed's format.
func FuzzAccessLogLine(f *testing.F) {
	f.Add("Mc7UVioPPHcEKPA=", "192.0.2.1", "HTTP/1.1", "GET", "GET /user", "function error: \"x\"\n<&>", 200, 11)
	f.Add("", "", "", "", "", "", 0, 0)
	f.Add("\xff", "\u2028", "\x00", "a\\b", "", "\t", 503, -1)
	f.Fuzz(func(t *testing.T, id, ip, proto, method, routeKey, ierr string, status, n int) {
		var buf bytes.Buffer
		rec := &accessRecord{requestID: id, sourceIP: ip, protocol: proto, method: method, integrationError: ierr}
		if routeKey != "" {
			rec.route = &route{}
			rec.route.Key = routeKey
		}
		newAccessLog(&buf).write(rec, &countingWriter{status: status, n: n}, "25/Nov/2026:11:00:00 +0000")
		if !bytes.HasSuffix(buf.Bytes(), []byte("\n")) || bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
			t.Fatalf("not one line: %q", buf.Bytes())
		}
		var got map[string]string
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("invalid JSON %q: %v", buf.Bytes(), err)
		}
		resourcePath, rk := "-", "-"
		if routeKey != "" {
			rk = routeKey
			_, resourcePath, _ = strings.Cut(routeKey, " ")
		}
		if ierr == "" {
			ierr = "-"
		}
		want := map[string]string{
			"requestId": id, "sourceIp": ip, "requestTime": "25/Nov/2026:11:00:00 +0000",
			"protocol": proto, "httpMethod": method, "resourcePath": resourcePath, "routeKey": rk,
			"status": strconv.Itoa(status), "responseLength": strconv.Itoa(n), "integrationErrorMessage": ierr,
		}
		// Through encoding/json, which replaces invalid UTF-8 as the line does.
		wb, _ := json.Marshal(want)
		var w map[string]string
		json.Unmarshal(wb, &w)
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("line %s, want %v", buf.Bytes(), w)
		}
	})
}
