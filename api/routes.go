package api

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
}

// AdminGroup is the Cognito group whose members may list every user.
const AdminGroup = "admins"

// Routes lists every route of the HTTP API.
var Routes = []Route{
	{Key: "GET /user", Function: "get_user"},
	{Key: "POST /user", Function: "create_user"},
	{Key: "GET /users", Function: "list_users", Group: AdminGroup},
}
