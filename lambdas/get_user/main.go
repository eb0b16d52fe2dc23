// Command get_user is the Lambda function behind the route whose Function is
// "get_user" in api.Routes.
package main

import "github.com/usersvc/usersvc/lambdas/serve"

func main() { serve.Function("get_user") }
