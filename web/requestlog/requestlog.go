// Package requestlog holds what the portal and the identity provider share
// to log their requests: the form of a request id, a ResponseWriter that
// remembers the status it sent, and the bound on what a client's strings
// (a path) may take of a log line. (The HTTP API keeps API Gateway's own
// request ids and access log; see api/gateway.)
package requestlog

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NewID returns a new request id: 16 hex digits, so that the web servers'
// logs and X-Request-Id headers read alike.
func NewID() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Recorder is an http.ResponseWriter that remembers the status sent to the
// client, for the access log line.
type Recorder struct {
	http.ResponseWriter
	status int
}

// NewRecorder wraps w.
func NewRecorder(w http.ResponseWriter) *Recorder { return &Recorder{ResponseWriter: w} }

// WriteHeader records the first final status (net/http ignores later ones,
// and 1xx responses are interim) and passes code on.
func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records 200 when the body starts without a status, as net/http
// sends, and passes b on.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Sent reports whether a final status has been sent.
func (r *Recorder) Sent() bool { return r.status != 0 }

// Status is the status the client got: the one recorded, or 200 for a
// handler that wrote nothing, which is what net/http then sends.
func (r *Recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// MaxLogged is how many bytes of a string a client chose (a path) a log
// line keeps.
const MaxLogged = 128

// Clip bounds s, a string a client chose, for a log line: invalid UTF-8
// becomes "?", and beyond MaxLogged bytes it is cut on a character boundary
// and marked as cut with its length, so that a request can neither write
// kilobytes into every line nor pass a cut value off as the whole.
func Clip(s string) string {
	n := len(s)
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= MaxLogged {
		return s
	}
	cut := MaxLogged
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(truncated, " + strconv.Itoa(n) + " bytes)"
}
