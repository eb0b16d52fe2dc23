package main

import (
	"strings"
	"testing"

	"github.com/usersvc/usersvc/terraform"
)

// TestWriteDeployed: after a deploy the operator reads the portal's URL,
// how to sign in, and the two ways to make the first admin, with the
// stack's own pool and region filled in; never the client secret.
func TestWriteDeployed(t *testing.T) {
	cfg := terraform.AWSConfig{
		Region:       "eu-west-1",
		Issuer:       "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
		UserPoolID:   "eu-west-1_abc",
		ClientID:     "client123",
		ClientSecret: "s3cr3t-never-printed",
		HostedUIURL:  "https://usersvc-dev.auth.eu-west-1.amazoncognito.com",
		APIURL:       "https://a1b2c3.execute-api.eu-west-1.amazonaws.com",
		TableName:    "AppDummy",
		PortalURL:    "https://p0r7a1.execute-api.eu-west-1.amazonaws.com",
	}
	var b strings.Builder
	if err := writeDeployed(&b, cfg, ".local/aws.json"); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, s := range []string{
		"  Portal:     https://p0r7a1.execute-api.eu-west-1.amazonaws.com\n",
		"Open the portal at https://p0r7a1.execute-api.eu-west-1.amazonaws.com",
		`"Sign in"`,
		"  portal admin grant EMAIL\n",
		"portal admin invite EMAIL -admin",
		"  aws cognito-idp admin-add-user-to-group --region eu-west-1 --user-pool-id eu-west-1_abc --group-name admins --username EMAIL\n",
		"sign out of the portal and in again",
		".local/aws.json (mode 0600)",
		"-api-url https://a1b2c3.execute-api.eu-west-1.amazonaws.com",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("deploy message lacks %q:\n%s", s, text)
		}
	}
	if strings.Contains(text, cfg.ClientSecret) {
		t.Error("deploy message prints the client secret")
	}
	if strings.Contains(text, "%!") {
		t.Errorf("deploy message has a formatting error:\n%s", text)
	}
}
