// Command create_user is the Lambda function behind the route whose Function is
// "create_user" in api.Routes.
package main

import "github.com/usersvc/usersvc/lambdas/serve"

func main() { serve.Function("create_user") }
