// Package sigv4 checks AWS Signature Version 4 on incoming requests, as an
// AWS JSON-protocol service (here Cognito's, "cognito-idp") checks the
// requests SDKs and the AWS CLI send it, against one configured key pair.
//
// Verify accepts what aws-sdk-go-v2's signer and botocore (the AWS CLI)
// produce: an Authorization header
//
//	AWS4-HMAC-SHA256 Credential=<key id>/<yyyymmdd>/<region>/<service>/aws4_request,
//	    SignedHeaders=<a;b;c>, Signature=<hex>
//
// over the canonical request: the method; the path, URI-encoded once more
// (as every service but S3 has it); the query, sorted and RFC 3986-encoded;
// only the headers named in SignedHeaders, lower-cased, values trimmed,
// inner runs of spaces folded and repeated headers joined with ","; and the
// SHA-256 of the body (an X-Amz-Content-Sha256 header, when sent, must be
// that hash). The request time is X-Amz-Date (or, failing it, Date) and
// must lie within Options.MaxSkew (AWS: 5 minutes) of the clock. The region
// is read from the credential scope: any region is accepted unless
// Options.Region names one. Signatures are compared in constant time.
//
// Every refusal is an *Error carrying the exception name and message AWS
// gives for it, ready to be written as an AWS JSON error:
//
//	no Authorization header               MissingAuthenticationTokenException "Missing Authentication Token"
//	header not parseable, no date         IncompleteSignatureException "Authorization header requires ..."
//	unknown access key id, session token  UnrecognizedClientException "The security token included in the request is invalid."
//	wrong service, region, date or terminator in the scope
//	                                      InvalidSignatureException "Credential should be scoped to ..."
//	host, or X-Amz-Target or X-Amz-Date when sent, not signed
//	                                      InvalidSignatureException "'X-Amz-Target' must be a 'SignedHeader' ..."
//	X-Amz-Date more than 5 minutes off    InvalidSignatureException "Signature expired: ..." / "Signature not yet current: ..."
//	signature does not match              InvalidSignatureException "The request signature we calculated does not match ..."
//
// All of them are HTTP 400, as the JSON-protocol services answer them.
// Presigned URLs (query-string authentication) are not accepted: SDKs and
// the CLI sign these APIs' POST requests in the header.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted (SigV4a is not).
const Algorithm = "AWS4-HMAC-SHA256"

// DefaultService is the signing name of Cognito user pools' API.
const DefaultService = "cognito-idp"

// DefaultMaxSkew is how far X-Amz-Date may be from the clock, either way,
// as AWS allows.
const DefaultMaxSkew = 5 * time.Minute

// amzDateLayout is X-Amz-Date's ISO 8601 basic form.
const amzDateLayout = "20060102T150405Z"

// The AWS exception names Verify's errors carry.
const (
	TypeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	TypeIncompleteSignature        = "IncompleteSignatureException"
	TypeUnrecognizedClient         = "UnrecognizedClientException"
	TypeInvalidSignature           = "InvalidSignatureException"
)

// Messages AWS gives, word for word, where they are fixed.
const (
	msgMissingToken = "Missing Authentication Token"
	msgUnrecognized = "The security token included in the request is invalid."
	msgMismatch     = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// Error is a refused request: Type is the AWS exception name (the JSON
// error's "__type" and the x-amzn-ErrorType header), Message its "message",
// Status the HTTP status to answer with.
type Error struct {
	Type    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Is matches another *Error of the same Type, so callers can test
// errors.Is(err, sigv4.ErrInvalidSignature) without caring for the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Type == e.Type
}

// Targets for errors.Is, one per exception type.
var (
	ErrMissingAuthenticationToken = &Error{Type: TypeMissingAuthenticationToken}
	ErrIncompleteSignature        = &Error{Type: TypeIncompleteSignature}
	ErrUnrecognizedClient         = &Error{Type: TypeUnrecognizedClient}
	ErrInvalidSignature           = &Error{Type: TypeInvalidSignature}
)

func refuse(typ, msg string) *Error {
	return &Error{Type: typ, Message: msg, Status: http.StatusBadRequest}
}

// Credentials is the one key pair requests must be signed with.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Options tune a Verifier; the zero value is AWS's behaviour for Cognito.
type Options struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Service is the signing name required in the credential scope
	// (DefaultService when empty).
	Service string
	// Region, when set, is the only region accepted in the credential
	// scope; when empty any region is.
	Region string
	// MaxSkew is how far the request time may be from Now
	// (DefaultMaxSkew when 0).
	MaxSkew time.Duration
}

// Verifier checks requests against one key pair. It is safe for
// concurrent use.
type Verifier struct {
	creds   Credentials
	now     func() time.Time
	service string
	region  string
	skew    time.Duration
}

// New returns a Verifier for creds.
func New(creds Credentials, opts Options) (*Verifier, error) {
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return nil, errors.New("sigv4: access key id and secret access key are both required")
	}
	if strings.Contains(creds.AccessKeyID, "/") {
		return nil, errors.New("sigv4: access key id cannot contain '/'")
	}
	v := &Verifier{creds: creds, now: opts.Now, service: opts.Service, region: opts.Region, skew: opts.MaxSkew}
	if v.now == nil {
		v.now = time.Now
	}
	if v.service == "" {
		v.service = DefaultService
	}
	if v.skew <= 0 {
		v.skew = DefaultMaxSkew
	}
	return v, nil
}

// Verify checks r's signature; body is r's whole body, already read (Verify
// does not read r.Body). nil means r was signed with the configured key
// pair, for the configured service, recently; otherwise the error is an
// *Error.
func (v *Verifier) Verify(r *http.Request, body []byte) error {
	values := r.Header.Values("Authorization")
	if len(values) == 0 || strings.TrimSpace(values[0]) == "" {
		return refuse(TypeMissingAuthenticationToken, msgMissingToken)
	}
	header := values[0]
	if len(values) > 1 {
		return refuse(TypeIncompleteSignature, "Authorization header appears more than once. Authorization="+header)
	}
	auth, missing, err := parseAuthorization(header)
	if err != nil {
		return err
	}
	amzDate, dateErr := requestTime(r)
	if errors.Is(dateErr, errNoDate) {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		// AWS names everything missing at once.
		return refuse(TypeIncompleteSignature, strings.Join(missing, " ")+" Authorization="+header)
	}
	if dateErr != nil {
		return dateErr
	}

	if !hmac.Equal([]byte(auth.accessKeyID), []byte(v.creds.AccessKeyID)) ||
		r.Header.Get("X-Amz-Security-Token") != "" {
		// The configured pair is a long-term key: a session token means
		// credentials this provider never issued.
		return refuse(TypeUnrecognizedClient, msgUnrecognized)
	}
	if auth.terminator != "aws4_request" {
		return refuse(TypeInvalidSignature, fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ", auth.terminator))
	}
	if auth.service != v.service {
		return refuse(TypeInvalidSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", v.service))
	}
	if auth.region == "" || (v.region != "" && auth.region != v.region) {
		return refuse(TypeInvalidSignature, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", auth.region))
	}
	stamp := amzDate.Format(amzDateLayout)
	if auth.date != stamp[:8] {
		return refuse(TypeInvalidSignature, fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", auth.date, stamp[:8], stamp))
	}
	now := v.now().UTC()
	if amzDate.Before(now.Add(-v.skew)) {
		return refuse(TypeInvalidSignature, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s.)",
			stamp, now.Add(-v.skew).Format(amzDateLayout), now.Format(amzDateLayout), skewText(v.skew)))
	}
	if amzDate.After(now.Add(v.skew)) {
		return refuse(TypeInvalidSignature, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s.)",
			stamp, now.Add(v.skew).Format(amzDateLayout), now.Format(amzDateLayout), skewText(v.skew)))
	}
	if !signs(auth.signedHeaders, "host") && !signs(auth.signedHeaders, ":authority") {
		return refuse(TypeInvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	// X-Amz-Target names the operation of a JSON-protocol call: unsigned,
	// a captured signature would carry its body to another operation
	// (AdminGetUser's to AdminDeleteUser). X-Amz-Date is the request time.
	// Both signers sign both whenever they send them.
	for _, h := range mustSign {
		if r.Header.Get(h) != "" && !signs(auth.signedHeaders, strings.ToLower(h)) {
			return refuse(TypeInvalidSignature, "'"+h+"' must be a 'SignedHeader' in the AWS Authorization.")
		}
	}

	payloadHash := sha256.Sum256(body)
	payloadHex := hex.EncodeToString(payloadHash[:])
	if sent := r.Header.Get("X-Amz-Content-Sha256"); sent != "" && sent != payloadHex {
		// Trusting the header would let a body be swapped under a valid
		// signature; the service hashes what it received.
		return refuse(TypeInvalidSignature, msgMismatch)
	}

	canonical := canonicalRequest(r, auth.signedHeaders, payloadHex)
	scope := auth.date + "/" + auth.region + "/" + auth.service + "/aws4_request"
	canonicalHash := sha256.Sum256([]byte(canonical))
	toSign := Algorithm + "\n" + stamp + "\n" + scope + "\n" + hex.EncodeToString(canonicalHash[:])
	want := hex.EncodeToString(hmacSHA256(v.signingKey(auth.date, auth.region, auth.service), []byte(toSign)))
	if !hmac.Equal([]byte(strings.ToLower(auth.signature)), []byte(want)) {
		return refuse(TypeInvalidSignature, msgMismatch)
	}
	return nil
}

// skewText writes the allowed skew the way AWS's messages do ("5 min").
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return d.String()
}

// mustSign are the headers that, when a request carries them, its
// signature must cover.
var mustSign = []string{"X-Amz-Target", "X-Amz-Date"}

// signs reports whether the SignedHeaders list names (lower-case) header.
func signs(signed []string, header string) bool {
	return slices.Contains(signed, header)
}

// signingKey derives the key for one day, region and service.
func (v *Verifier) signingKey(date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+v.creds.SecretAccessKey), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// requestTime is X-Amz-Date, or the Date header when there is none.
func requestTime(r *http.Request) (time.Time, error) {
	if s := r.Header.Get("X-Amz-Date"); s != "" {
		t, err := time.Parse(amzDateLayout, s)
		if err != nil {
			return time.Time{}, refuse(TypeIncompleteSignature, fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", s))
		}
		return t, nil
	}
	if s := r.Header.Get("Date"); s != "" {
		t, err := http.ParseTime(s)
		if err != nil {
			return time.Time{}, refuse(TypeIncompleteSignature, fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", s))
		}
		return t.UTC(), nil
	}
	return time.Time{}, errNoDate
}

// errNoDate: neither X-Amz-Date nor Date; Verify words the refusal.
var errNoDate = errors.New("no date")

// authorization is a parsed Authorization header.
type authorization struct {
	accessKeyID, date, region, service, terminator string
	signedHeaders                                  []string
	signature                                      string
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." (components in any order, spaces around commas optional).
// missing lists, in AWS's words, the components that are absent; err is
// any other refusal.
func parseAuthorization(header string) (a authorization, missing []string, err error) {
	rest, ok := strings.CutPrefix(header, Algorithm+" ")
	if !ok {
		if alg, _, _ := strings.Cut(header, " "); strings.HasPrefix(alg, "AWS4-") {
			return a, nil, refuse(TypeIncompleteSignature, fmt.Sprintf("Unsupported AWS 'algorithm': '%s'", alg))
		}
		rest = "" // not SigV4 at all: every component is missing
	}
	fields := map[string]string{}
	if rest != "" {
		for _, part := range strings.Split(rest, ",") {
			part = strings.TrimSpace(part)
			key, value, ok := strings.Cut(part, "=")
			if !ok {
				return a, nil, refuse(TypeIncompleteSignature, fmt.Sprintf("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", part, header))
			}
			if _, dup := fields[key]; !dup {
				fields[key] = value
			}
		}
	}
	for _, name := range []string{"Credential", "Signature", "SignedHeaders"} {
		if fields[name] == "" {
			missing = append(missing, "Authorization header requires '"+name+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return a, missing, nil
	}

	credential := fields["Credential"]
	parts := strings.Split(credential, "/")
	if len(parts) != 5 {
		return a, nil, refuse(TypeIncompleteSignature, fmt.Sprintf("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", credential))
	}
	a.accessKeyID, a.date, a.region, a.service, a.terminator = parts[0], parts[1], parts[2], parts[3], parts[4]
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		a.signedHeaders = append(a.signedHeaders, strings.ToLower(strings.TrimSpace(h)))
	}
	a.signature = fields["Signature"]
	return a, nil, nil
}

// canonicalRequest builds SigV4's canonical request from what arrived.
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHex string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(encode(requestPath(r), false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHex)
	return b.String()
}

// requestPath is the path as it came on the wire (still percent-encoded):
// the clients encode that once more.
func requestPath(r *http.Request) string {
	p := ""
	if r.RequestURI != "" && r.RequestURI != "*" {
		p, _, _ = strings.Cut(r.RequestURI, "?")
		if u, err := url.Parse(p); err == nil && u.IsAbs() {
			p = u.EscapedPath() // an absolute-form request target
		}
	} else if r.URL != nil {
		p = r.URL.EscapedPath()
	}
	if p == "" {
		p = "/"
	}
	return p
}

// canonicalQuery is the query's parameters sorted by name then value,
// each RFC 3986-encoded.
func canonicalQuery(r *http.Request) string {
	if r.URL == nil || r.URL.RawQuery == "" {
		return ""
	}
	q, _ := url.ParseQuery(r.URL.RawQuery) // the pairs that parse, as the signers see them
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(q))
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, pair{encode(k, true), encode(v, true)})
		}
	}
	// By name, then value: sorting "name=value" strings would put "a-b=1"
	// before "a=1".
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// headerValue is a signed header's canonical value: each value trimmed,
// inner runs of spaces folded to one, several joined with ",".
func headerValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host", ":authority":
		host := r.Host
		if host == "" && r.URL != nil {
			host = r.URL.Host
		}
		values = []string{host}
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		values = r.Header.Values("Transfer-Encoding")
		if len(values) == 0 && len(r.TransferEncoding) > 0 {
			values = []string{strings.Join(r.TransferEncoding, ",")}
		}
	default:
		values = r.Header.Values(name)
	}
	for i, v := range values {
		values[i] = foldSpaces(v)
	}
	return strings.Join(values, ",")
}

func foldSpaces(s string) string {
	s = strings.Trim(s, " \t")
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// encode is SigV4's URI encoding: every byte but the unreserved characters
// as %XX in upper case, and "/" too unless path says it is a path.
func encode(s string, query bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !query:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
