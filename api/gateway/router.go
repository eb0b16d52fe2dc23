package gateway

import (
	"fmt"
	"strings"
)

// DefaultRouteKey is the route key of an HTTP API's catch-all route.
const DefaultRouteKey = "$default"

// router matches requests to routes as an HTTP API does: the method and the
// path must both match a route key, paths are case sensitive, a segment
// "{name}" matches one path segment and a final "{name+}" matches the rest.
// Exact routes win over routes with parameters, and the route "$default"
// catches whatever no other route matches.
type router struct {
	exact  map[string]*route // "GET /user"
	params []paramRoute
	def    *route // "$default", or nil
}

type paramRoute struct {
	method   string
	segments []string
	r        *route
}

func newRouter(routes []*route) (*router, error) {
	rt := &router{exact: make(map[string]*route)}
	for _, r := range routes {
		if r.Key == DefaultRouteKey {
			if rt.def != nil {
				return nil, fmt.Errorf("route key %q listed twice", r.Key)
			}
			rt.def = r
			continue
		}
		method, path, ok := strings.Cut(r.Key, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("route key %q is not \"METHOD /path\"", r.Key)
		}
		if !strings.Contains(path, "{") {
			if _, dup := rt.exact[r.Key]; dup {
				return nil, fmt.Errorf("route key %q listed twice", r.Key)
			}
			rt.exact[r.Key] = r
			continue
		}
		segs := strings.Split(path[1:], "/")
		for i, s := range segs {
			if strings.HasSuffix(s, "+}") && i != len(segs)-1 {
				return nil, fmt.Errorf("route key %q: greedy parameter must be last", r.Key)
			}
		}
		rt.params = append(rt.params, paramRoute{method: method, segments: segs, r: r})
	}
	return rt, nil
}

// all returns every route.
func (rt *router) all() []*route {
	out := make([]*route, 0, len(rt.exact)+len(rt.params))
	for _, r := range rt.exact {
		out = append(out, r)
	}
	for _, p := range rt.params {
		out = append(out, p.r)
	}
	if rt.def != nil {
		out = append(out, rt.def)
	}
	return out
}

// match returns the route for method and path and its path parameters.
func (rt *router) match(method, path string) (*route, map[string]string, bool) {
	if r, ok := rt.exact[method+" "+path]; ok {
		return r, nil, true
	}
	if len(rt.params) == 0 || !strings.HasPrefix(path, "/") {
		return rt.def, nil, rt.def != nil
	}
	segs := strings.Split(path[1:], "/")
	for _, p := range rt.params {
		if p.method != method && p.method != "ANY" {
			continue
		}
		if params, ok := matchSegments(p.segments, segs); ok {
			return p.r, params, true
		}
	}
	return rt.def, nil, rt.def != nil
}

func matchSegments(pattern, segs []string) (map[string]string, bool) {
	params := make(map[string]string)
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			rest := strings.Join(segs[min(i, len(segs)):], "/")
			if rest == "" {
				return nil, false
			}
			params[p[1:len(p)-2]] = rest
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, len(pattern) == len(segs)
}
