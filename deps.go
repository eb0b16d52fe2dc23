//go:build deps

package deps

import (
	_ "github.com/a-h/templ"
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	_ "github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/go-jose/go-jose/v4"
	_ "golang.org/x/oauth2"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/time/rate"
	_ "go.etcd.io/bbolt"
	_ "github.com/chromedp/chromedp"
	_ "github.com/hashicorp/terraform-exec/tfexec"
	_ "github.com/hashicorp/terraform-json"
)
