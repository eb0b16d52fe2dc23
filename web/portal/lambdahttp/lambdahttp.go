// Package lambdahttp serves an http.Handler as an AWS Lambda function
// behind an API Gateway HTTP API (payload format 2.0), the way the portal
// runs on AWS and, through the local gateway, in `portal dev`.
//
// The conversion is aws-lambda-go-api-proxy's httpadapter.NewV2: cookies
// arrive in the event's cookies array and reach the handler as Cookie
// headers; every Set-Cookie leaves as its own element of the response's
// cookies; rawQueryString, base64 bodies and comma-joined repeated headers
// (split back into values) are its. This package adds what that adapter
// lacks, each a point where it is wrong for a web site:
//
//   - The request's Host is the Host header the client sent (the adapter
//     uses requestContext.domainName, which for a local gateway lacks the
//     port, and the portal redirects other host names to its own).
//   - A HEAD response has no body (the adapter sends the GET body).
//   - A handler that writes nothing answers 200, as net/http does (the
//     adapter fails the invocation).
//   - An event that cannot become a request (a body that is not base64, a
//     path that is not one) is answered 400, instead of failing the
//     invocation (which API Gateway turns into a bare 500) with log lines
//     outside the structured log.
//   - A response whose JSON exceeds Lambda's 6 MB response payload limit is
//     replaced by a 500 that says so, instead of failing in Lambda with a
//     bare 502.
package lambdahttp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// MaxResponseBytes is Lambda's limit on a synchronous invocation's response
// payload (6 MB), which the JSON of an events.APIGatewayV2HTTPResponse
// must fit.
const MaxResponseBytes = 6 << 20

// Handler is a Lambda function's entry point for HTTP API events, the type
// lambda.Start takes and the local gateway calls.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// New returns the entry point that serves h. log receives a line for each
// event refused and each response too large; nil discards them.
func New(h http.Handler, log *slog.Logger) Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	adapter := httpadapter.NewV2(fixups(h))
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if reason := badEvent(ev); reason != "" {
			log.WarnContext(ctx, "refused event", "reason", reason, "aws_request_id", ev.RequestContext.RequestID)
			return plain(http.StatusBadRequest, "Bad request: "+reason+".\n"), nil
		}
		resp, err := adapter.ProxyWithContext(ctx, ev)
		if err != nil {
			// badEvent lets through nothing the adapter refuses; should
			// that change, the client still gets an answer.
			log.ErrorContext(ctx, "convert event", "error", err, "aws_request_id", ev.RequestContext.RequestID)
			return plain(http.StatusBadRequest, "Bad request.\n"), nil
		}
		if strings.EqualFold(ev.RequestContext.HTTP.Method, http.MethodHead) {
			resp.Body, resp.IsBase64Encoded = "", false
		}
		if n := responseSize(resp); n > MaxResponseBytes {
			log.ErrorContext(ctx, "response too large for lambda", "bytes", n, "limit", MaxResponseBytes,
				"path", ev.RawPath, "status", resp.StatusCode, "aws_request_id", ev.RequestContext.RequestID)
			return plain(http.StatusInternalServerError, "The response was too large to send (over Lambda's 6 MB); nothing of it was sent.\n"), nil
		}
		return resp, nil
	}
}

func plain(status int, body string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "text/plain; charset=utf-8",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		},
		Body: body,
	}
}

// badEvent says why ev cannot be a request, or "". It makes the checks the
// adapter's conversion would fail on, so that the adapter never logs.
func badEvent(ev events.APIGatewayV2HTTPRequest) string {
	m := ev.RequestContext.HTTP.Method
	if m == "" || strings.IndexFunc(m, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }) >= 0 {
		return "no valid method"
	}
	if ev.IsBase64Encoded {
		if _, err := base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return "body is not valid base64"
		}
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	raw := "https://" + ev.RequestContext.DomainName + path
	if ev.RawQueryString != "" {
		raw += "?" + ev.RawQueryString
	}
	if _, err := url.Parse(raw); err != nil {
		return "malformed path, query or domain name"
	}
	return ""
}

// responseSize is the length of resp's JSON as the Lambda runtime writes it
// (aws-lambda-go does not escape HTML), measured only when it could be over
// the limit: JSON escaping grows a byte to at most six.
func responseSize(resp events.APIGatewayV2HTTPResponse) int {
	n := len(resp.Body)
	for k, v := range resp.Headers {
		n += len(k) + len(v)
	}
	for _, c := range resp.Cookies {
		n += len(c)
	}
	if 6*n+4096 < MaxResponseBytes {
		return n
	}
	var w countWriter
	enc := json.NewEncoder(&w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp); err != nil {
		return MaxResponseBytes + 1
	}
	return w.n
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// fixups corrects the request the adapter built, and makes sure a status
// is written.
func fixups(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host := r.Header.Get("Host"); host != "" {
			r.Host = host
			r.URL.Host = host
		}
		r.Header.Del("Host") // net/http keeps it in r.Host only
		if proto := r.Header.Get("X-Forwarded-Proto"); proto == "http" || proto == "https" {
			r.URL.Scheme = proto
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if !sw.wrote {
			w.WriteHeader(http.StatusOK)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 { // 1xx are interim; the first final one counts
		w.wrote = true
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}
