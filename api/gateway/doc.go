// Package gateway is a local twin of an API Gateway HTTP API ($default
// stage) with a JWT authorizer and Lambda proxy integrations using payload
// format 2.0: what passes or fails here passes or fails the same way in AWS.
//
// A Gateway is an http.Handler. For each request it applies, in order:
//
//  1. the stage throttle (token bucket; 429 {"message":"Too Many Requests"});
//  2. CORS preflight, answered by the gateway itself when CORS is configured;
//  3. routing from the route table: an unknown path, or a method the path
//     does not have, is 404 {"message":"Not Found"};
//  4. a declared Content-Length over 10 MB (413), refused before any work;
//  5. the JWT authorizer of package jwtauth (401 {"message":"Unauthorized"}
//     with a www-authenticate header in API Gateway's form; 403
//     {"message":"Forbidden"} for a valid token without a route scope).
//     The token is the Authorization header, several of them joined with
//     commas as API Gateway joins repeated headers (so they fail);
//  6. the body, read only now and only up to 10 MB (413 past it), at the
//     pace the route allows (see below; 408 {"message":"Request Timeout"}
//     for a body slower than that);
//  7. the route's concurrency limit (429);
//  8. the integration: the request becomes a format 2.0 event, is encoded
//     to JSON and handed to the function through aws-lambda-go's own
//     lambda.NewHandler(...).Invoke, so that only what survives JSON reaches
//     the function, as in Lambda. A function error, panic or malformed
//     response is 500 {"message":"Internal Server Error"}; a function still
//     running at the route's timeout (30 s unless configured: API
//     Gateway's integration timeout, not the function's Lambda timeout; see
//     DefaultTimeout) is 503 {"message":"Service Unavailable"}. Its
//     concurrency slot is freed then, as Lambda frees a timed-out
//     invocation's, and its environment is never used again.
//
// Functions run in warm "execution environments" as in Lambda: each runs
// one invocation at a time, and a panic or a timeout discards it. Idle
// environments end after a minute, or at once when the Gateway is closed.
//
// Each route sets its own deadlines with package httpserve: a body the
// size its method takes (10 MB for POST, PUT and PATCH, a form's
// otherwise) must keep up httpserve's minimum rate (16 KiB/s unless
// Config.Body says otherwise: a 10 MB POST on a slow link passes, a client
// that declares a body and sends nothing is cut after the grace), and the
// reply gets the integration timeout and five seconds more. A request
// refused before its body is read (401, 404, 413) is answered at once and
// its connection closed, instead of waiting for the body. A client that
// goes away while sending is recorded in the access log with status 499,
// not as an error. Attacker-chosen strings (a method, a token's kid) are
// cut at 128 bytes, marked as cut, in the logs.
//
// Every response carries an apigw-requestid header, and one line per
// request goes to the access log in the seed's JSON format.
//
// Use it in-process (this is what "portal dev" does):
//
//	a := api.New(store, log)
//	gw, err := gateway.New(gateway.Config{
//		Routes:    api.Routes,
//		Handler:   a.Handler,
//		Issuer:    "http://localhost:9229/us-east-1_LocalPool",
//		Audience:  []string{"portal"},
//		Logger:    log,
//		AccessLog: os.Stdout,
//	})
//	if err != nil { ... }
//	srv := httpserve.New(httpserve.Config{Handler: gw, Log: log})
//	go srv.Serve(ln) // at most httpserve.DefaultMaxConns connections
//	...
//	srv.Shutdown(ctx) // let requests in flight finish
//	gw.Close()        // then end the warm environments' goroutines
//
// New contacts nothing: the issuer's discovery document and keys are
// fetched on the first request that needs them, so the gateway may start
// before the identity provider.
package gateway
