package api

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// Route is one route of the HTTP API. The table below is the single source
// of truth: the local gateway serves it, `make lambdas` builds one function
// per entry, and a test checks that the Terraform module declares exactly
// these routes.
type Route struct {
	// Key is API Gateway's route key: method, one space, path.
	Key string
	// Function names the Lambda function (and lambdas/<Function>/ directory).
	Function string
	// Group, when set, is the Cognito group the caller must be in. The
	// handler enforces it (403), as a JWT authorizer cannot.
	Group string
	// Scopes, when set, are OAuth scopes of which the token must carry at
	// least one; the JWT authorizer enforces them (401).
	Scopes []string
	// Public routes have no JWT authorizer: their function authenticates
	// callers itself (the portal, which signs people in). The zero value
	// is an authorized route, so a route added without thought is closed.
	Public bool
	// Handler is the API method that serves the route, as a method
	// expression such as (*API).GetUser. It is nil for a route whose
	// function is not the user service's (the portal's).
	Handler Method
}

// Method is an API method that handles a route, taken as a method
// expression; API.Handler binds it to an API.
type Method func(*API, context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// AdminGroup is the Cognito group whose members may list every user.
const AdminGroup = "admins"

// Routes lists every route of the HTTP API.
var Routes = []Route{
	{Key: "GET /user", Function: "get_user", Handler: (*API).GetUser},
	{Key: "POST /user", Function: "create_user", Handler: (*API).CreateUser},
	{Key: "GET /users", Function: "list_users", Group: AdminGroup, Handler: (*API).ListUsers},
}
