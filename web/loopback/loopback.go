// Package loopback answers one question for the web servers: does a host
// name this machine? Browsers treat plain http to such a host as a secure
// context, so Secure and __Host- cookies work there without TLS.
//
// This is not the rule for which http redirect URLs an app client may
// register: Amazon Cognito allows plain http only for the host name
// "localhost" itself (see the identity provider's client checks).
package loopback

import (
	"net/netip"
	"strings"
)

// IsLocal reports whether host names this machine, where browsers treat
// plain http as a secure context: "localhost" and names under it (any
// case, with or without a trailing dot) and loopback IP addresses (IPv6
// with or without brackets). host carries no port; url.URL.Hostname gives
// one.
func IsLocal(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
