package gateway

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// event is an HTTP API payload format 2.0 request, with the fields in the
// order and with the nulls API Gateway sends. aws-lambda-go's
// events.APIGatewayV2HTTPRequest decodes it, but encoding that type would
// drop "scopes": null and add an empty "authentication" object, which API
// Gateway does not send.
type event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        requestContext    `json:"requestContext"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	Body                  *string           `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type requestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	Authorizer   *authorizer `json:"authorizer,omitempty"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         httpContext `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

type authorizer struct {
	JWT jwtContext `json:"jwt"`
}

type jwtContext struct {
	Claims map[string]string `json:"claims"`
	// Scopes is null unless the route requires scopes, as in API Gateway.
	Scopes []string `json:"scopes"`
}

type httpContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// hopByHop lists the headers that concern one connection only; a proxy
// such as API Gateway does not forward them.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true,
}

// requestTimeLayout is API Gateway's $context.requestTime format.
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// stampedSecond is a second and its requestTime text.
type stampedSecond struct {
	unix int64
	text string
}

// requestTime formats t in requestTimeLayout. The text changes once a
// second, so it is formatted once a second.
func (g *Gateway) requestTime(t time.Time) string {
	sec := t.Unix()
	if last := g.lastSecond.Load(); last != nil && last.unix == sec {
		return last.text
	}
	text := t.UTC().Format(requestTimeLayout)
	g.lastSecond.Store(&stampedSecond{sec, text})
	return text
}

// newEvent builds the payload format 2.0 event of r, already matched to rt
// with path parameters params, whose body has been read into body.
func (g *Gateway) newEvent(r *http.Request, rt *route, params map[string]string, body []byte, reqID string, start time.Time, claims map[string]string, scopes []string) *event {
	ev := &event{
		Version:        "2.0",
		RouteKey:       rt.Key,
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        make(map[string]string, len(r.Header)+4),
		PathParameters: params,
	}
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if hopByHop[name] {
			continue
		}
		if name == "cookie" {
			// Format 2.0 moves cookies out of the headers into their own
			// field, one entry per cookie.
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[name] = strings.Join(values, ",")
	}
	// Go keeps these out of r.Header; API Gateway passes them on.
	host := r.Host
	ev.Headers["host"] = host
	if len(body) > 0 || r.ContentLength > 0 {
		ev.Headers["content-length"] = strconv.Itoa(len(body))
	}
	srcIP := sourceIP(r)
	if xff := ev.Headers["x-forwarded-for"]; xff != "" {
		ev.Headers["x-forwarded-for"] = xff + ", " + srcIP
	} else {
		ev.Headers["x-forwarded-for"] = srcIP
	}
	port, proto := "80", "http"
	if r.TLS != nil {
		port, proto = "443", "https"
	}
	if p, ok := localPort(r); ok {
		port = p
	}
	ev.Headers["x-forwarded-port"] = port
	ev.Headers["x-forwarded-proto"] = proto
	ev.Headers["x-amzn-trace-id"] = traceID(start, reqID)

	if r.URL.RawQuery != "" {
		ev.QueryStringParameters = queryParameters(r.URL.RawQuery)
	}
	if len(body) > 0 {
		s := string(body)
		if !isText(r.Header.Get("Content-Type"), body) {
			s = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
		ev.Body = &s
	}
	domain := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		domain = h
	}
	prefix, _, _ := strings.Cut(domain, ".")
	ev.RequestContext = requestContext{
		AccountID:    g.accountID,
		APIID:        g.apiID,
		DomainName:   domain,
		DomainPrefix: prefix,
		HTTP: httpContext{
			Method:    r.Method,
			Path:      r.URL.Path,
			Protocol:  r.Proto,
			SourceIP:  srcIP,
			UserAgent: r.UserAgent(),
		},
		RequestID: reqID,
		RouteKey:  rt.Key,
		Stage:     "$default",
		Time:      g.requestTime(start),
		TimeEpoch: start.UnixMilli(),
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &authorizer{JWT: jwtContext{Claims: claims, Scopes: scopes}}
	}
	return ev
}

// localPort is the port the request came in on, which gives
// x-forwarded-port; the Host header's stands in when the server did not
// say.
func localPort(r *http.Request) (string, bool) {
	switch a := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		return strconv.Itoa(a.Port), true
	case net.Addr:
		_, p, err := net.SplitHostPort(a.String())
		return p, err == nil
	}
	_, p, err := net.SplitHostPort(r.Host)
	return p, err == nil
}

// sourceIP is the TCP peer, as API Gateway's sourceIp is: a client cannot
// choose it with X-Forwarded-For.
func sourceIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// queryParameters decodes a query string the way format 2.0 does: repeated
// keys joined with commas, in the order they came.
func queryParameters(raw string) map[string]string {
	out := make(map[string]string)
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		if prev, ok := out[k]; ok {
			out[k] = prev + "," + v
		} else {
			out[k] = v
		}
	}
	return out
}

// isText reports whether a body goes to the function as text; anything
// else is base64-encoded and flagged isBase64Encoded, as API Gateway does
// for binary media.
func isText(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") {
		return true
	}
	// Not application/x-www-form-urlencoded: API Gateway base64-encodes
	// form posts, and the portal's Lambda entry point must see them so
	// here as it does on AWS.
	return slices.Contains([]string{
		"application/json", "application/xml", "application/javascript", "application/graphql",
	}, mt)
}

// traceID is an X-Ray trace header in API Gateway's shape: Root=1-<epoch
// seconds in hex>-<24 hex digits>. The random part is taken from the
// request id, itself random, so that a fixed id gives a fixed header.
func traceID(t time.Time, reqID string) string {
	var id [12]byte
	copy(id[:], reqID)
	var epoch [4]byte
	binary.BigEndian.PutUint32(epoch[:], uint32(t.Unix()))
	b := make([]byte, 0, len("Root=1-")+8+1+24)
	b = append(b, "Root=1-"...)
	b = hex.AppendEncode(b, epoch[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, id[:])
	return string(b)
}
