// Package lambdas is the catalogue of the project's Lambda functions: one
// per route of the user service's HTTP API (api.Routes) and one for the
// portal, which serves every path of its own HTTP API.
//
// Each entry's Function names the directory lambdas/<Function>, whose
// main.go is one line that serves that entry; `make lambdas` builds one
// package per entry; terraform/ declares the same functions and routes,
// and a test of its plan holds it to this list.
package lambdas

import (
	"slices"

	"github.com/usersvc/usersvc/api"
)

// Portal is the portal's one route, on its own HTTP API: every method and
// path ("$default"), without an authorizer, since the portal signs people
// in itself. Its function serves the portal's http.Handler through
// web/portal/lambdahttp.
var Portal = api.Route{Key: "$default", Function: "portal", Public: true}

// Routes returns every function's route: the user API's, then the
// portal's.
func Routes() []api.Route {
	return append(slices.Clone(api.Routes), Portal)
}

// Functions returns the name of every function, each once, in the order of
// Routes.
func Functions() []string {
	var fns []string
	for _, r := range Routes() {
		if !slices.Contains(fns, r.Function) {
			fns = append(fns, r.Function)
		}
	}
	return fns
}
