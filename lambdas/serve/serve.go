// Package serve runs one handler of the user service as a Lambda function,
// so that each lambdas/<function>/main.go is one line.
package serve

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/dynamo"
)

// Function serves the handler of the route whose Function is function, on
// the DynamoDB store built once per cold start from the environment
// (TABLE_NAME and the AWS SDK's standard variables), logging JSON to
// stdout for CloudWatch. It does not return; a configuration error ends
// the process, which Lambda reports as an init failure.
func Function(function string) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	store, err := dynamo.NewFromEnv(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("configure store", "function", function, "error", err)
		os.Exit(1)
	}
	h, ok := api.New(store, log).Handler(function)
	if !ok {
		log.Error("no handler for this function", "function", function)
		os.Exit(1)
	}
	lambda.Start(h)
}
