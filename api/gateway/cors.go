package gateway

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CORS is an HTTP API's CORS configuration. When it is set the gateway
// answers every preflight request itself (204, whether or not a route
// exists for the path) and sets the CORS headers on every response to an
// allowed origin, replacing any the function sent, as API Gateway does.
type CORS struct {
	// AllowOrigins lists exact origins ("http://localhost:8080"), or "*".
	AllowOrigins []string
	// AllowMethods lists methods, or "*".
	AllowMethods []string
	// AllowHeaders lists request headers a preflight may ask for, or "*".
	AllowHeaders []string
	// ExposeHeaders lists response headers the browser may read.
	ExposeHeaders []string
	// MaxAge is how long browsers may cache a preflight answer.
	MaxAge time.Duration
	// AllowCredentials lets browsers send cookies and Authorization; API
	// Gateway refuses it together with origin "*", and so does New.
	AllowCredentials bool
}

func (c *CORS) check() error {
	if len(c.AllowOrigins) == 0 {
		return errors.New("cors: no allowed origins")
	}
	if c.AllowCredentials && slices.Contains(c.AllowOrigins, "*") {
		return errors.New("cors: credentials cannot be allowed for origin *")
	}
	return nil
}

func (c *CORS) originAllowed(origin string) bool {
	if origin == "" {
		return false
	}
	return slices.Contains(c.AllowOrigins, "*") || slices.ContainsFunc(c.AllowOrigins, func(o string) bool {
		return strings.EqualFold(o, origin)
	})
}

// preflight answers a CORS preflight request and reports whether r was one.
func (c *CORS) preflight(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodOptions || r.Header.Get("Origin") == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	if c.originAllowed(origin) && listAllows(c.AllowMethods, method) && c.headersAllowed(r.Header.Values("Access-Control-Request-Headers")) {
		c.setOrigin(h, origin)
		h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
		if len(c.AllowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
		}
		if c.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge/time.Second)))
		}
	}
	// A refused preflight gets no CORS headers, which is how the browser
	// learns the answer is no.
	w.WriteHeader(http.StatusNoContent)
	return true
}

func (c *CORS) headersAllowed(values []string) bool {
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" && !listAllows(c.AllowHeaders, name) {
				return false
			}
		}
	}
	return true
}

// decorate sets the CORS headers of an actual (non-preflight) response.
func (c *CORS) decorate(h http.Header, r *http.Request) {
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(h, k)
		}
	}
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !c.originAllowed(origin) {
		return
	}
	c.setOrigin(h, origin)
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
}

func (c *CORS) setOrigin(h http.Header, origin string) {
	if slices.Contains(c.AllowOrigins, "*") && !c.AllowCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

func listAllows(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}
