package httpserve

import (
	"net/http"
	"net/url"
)

// CanonicalHost serves one host name, that of base: a GET or HEAD request
// that names another (127.0.0.1 instead of localhost, say) is redirected
// with 302 to the same path and query on base. Cookies and registered
// callback addresses belong to one name, and a sign-in started on another
// would fail at its callback.
//
// Any other method is served where it arrived, never redirected: a 307
// would replay the body at another origin, where the browser sends other
// cookies (and, for a form, a cross-origin Origin that CSRF checks refuse),
// so it would fail in a confusing way. Served as it is, a form post that
// needs a session meets no session (this host never set one) and is sent
// to sign in, and a request that needs no cookie, such as a provider's
// token endpoint called by a program, works on either name. GET /healthz
// is served on any name too, for probes that address a server by IP.
func CanonicalHost(base *url.URL, next http.Handler) http.Handler {
	origin := base.Scheme + "://" + base.Host
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == base.Host || r.URL.Path == "/healthz" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		http.Redirect(w, r, origin+r.URL.RequestURI(), http.StatusFound)
	})
}
