// Command get_user is the Lambda function behind the route whose Function is
// "get_user" in api.Routes. It builds its DynamoDB store once per cold start from
// the environment (TABLE_NAME and the AWS SDK's standard variables).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/dynamo"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	store, err := dynamo.NewFromEnv(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("configure store", "error", err)
		os.Exit(1)
	}
	lambda.Start(api.New(store, log).GetUser)
}
