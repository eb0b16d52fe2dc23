// Command portal is the Lambda function behind the portal's own HTTP API:
// the web portal, configured from the environment (see package
// web/portal/function).
package main

import "github.com/usersvc/usersvc/web/portal/function"

func main() { function.Main("portal") }
