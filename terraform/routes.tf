# The HTTP API's routes and the Lambda functions behind them. This table
# mirrors api.Routes in api/routes.go: a Go test (terraform/module_test.go)
# plans the module and fails when the two differ, so a route added in Go
# without its Terraform twin cannot pass CI.

locals {
  # Route key (method, one space, path) => the function that serves it and
  # the OAuth scopes the JWT authorizer requires (empty: any valid token).
  routes = {
    "GET /user"  = { function = "get_user", scopes = [] }
    "POST /user" = { function = "create_user", scopes = [] }
    "GET /users" = { function = "list_users", scopes = [] }
  }

  # Function => the only DynamoDB actions its role is granted. Each store
  # method issues exactly one call: GetUser a consistent GetItem, CreateUser
  # a conditional PutItem (never an overwrite), ListUsers a paginated Scan.
  functions = {
    get_user    = { dynamodb_actions = ["dynamodb:GetItem"] }
    create_user = { dynamodb_actions = ["dynamodb:PutItem"] }
    list_users  = { dynamodb_actions = ["dynamodb:Scan"] }
  }

  function_names = { for fn, _ in local.functions : fn => "${var.name}-${fn}" }

  # `make lambdas` writes dist/lambdas/<function>.zip at the repository root.
  dist_dir = coalesce(var.lambda_dist_dir, "${path.module}/../dist/lambdas")

  partition = (
    startswith(var.region, "cn-") ? "aws-cn" :
    startswith(var.region, "us-gov-") ? "aws-us-gov" :
    "aws"
  )
}
