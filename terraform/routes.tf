# The routes of both HTTP APIs and the Lambda functions behind them. These
# tables mirror the route table in api/routes.go: a Go test
# (terraform/module_test.go) plans the module and fails when the two
# differ, so a route added in Go without its Terraform twin cannot pass CI.

locals {
  # The user API: route key (method, one space, path) => the function that
  # serves it and the OAuth scopes the JWT authorizer requires (empty: any
  # valid token). Every route here is behind the Cognito authorizer.
  routes = {
    "GET /user"  = { function = "get_user", scopes = [] }
    "POST /user" = { function = "create_user", scopes = [] }
    "GET /users" = { function = "list_users", scopes = [] }
  }

  # The portal's own HTTP API: one catch-all route and no authorizer, since
  # the portal signs people in itself (its pages and the user API share
  # paths such as /user, so the two cannot share one API).
  portal_routes = {
    "$default" = { function = "portal" }
  }

  # Function => the table its role may use and the only DynamoDB actions it
  # is granted there. Each user store method issues exactly one call:
  # GetUser a consistent GetItem, CreateUser a conditional PutItem (never an
  # overwrite), ListUsers a paginated Scan. The portal's session store reads
  # with a consistent GetItem, creates and updates with PutItems conditional
  # on the item's absence or its version, and signs out with DeleteItem.
  # UpdateItem is granted as the design lists it, though the store issues
  # none today: an in-place touch of expires_at is the obvious next use.
  functions = {
    get_user    = { table = "users", dynamodb_actions = ["dynamodb:GetItem"] }
    create_user = { table = "users", dynamodb_actions = ["dynamodb:PutItem"] }
    list_users  = { table = "users", dynamodb_actions = ["dynamodb:Scan"] }
    portal      = { table = "sessions", dynamodb_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"] }
  }

  function_names = { for fn, _ in local.functions : fn => "${var.name}-${fn}" }

  # What each function serves, for its description.
  function_routes = {
    for fn, _ in local.functions : fn => concat(
      [for key, r in local.routes : "${key} (user API)" if r.function == fn],
      [for key, r in local.portal_routes : "${key} (portal API)" if r.function == fn],
    )
  }

  # `make lambdas` writes dist/lambdas/<function>.zip at the repository root.
  dist_dir = coalesce(var.lambda_dist_dir, "${path.module}/../dist/lambdas")

  partition = (
    startswith(var.region, "cn-") ? "aws-cn" :
    startswith(var.region, "us-gov-") ? "aws-us-gov" :
    "aws"
  )
}
