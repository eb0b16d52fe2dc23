// Command list_users is the Lambda function behind the route whose Function is
// "list_users" in api.Routes.
package main

import "github.com/usersvc/usersvc/lambdas/serve"

func main() { serve.Function("list_users") }
