package terraform_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/usersvc/usersvc/terraform"
)

// FuzzPrompt: any input approves exactly when its first line, trimmed, is
// "yes", and never panics.
func FuzzPrompt(f *testing.F) {
	for _, s := range []string{"yes\n", "yes", "no\n", "", "\n", " yes \r\n", "yes\nno\n", "yés\n", "\x00yes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		got, err := terraform.Prompt(strings.NewReader(input), io.Discard)(context.Background(), "?")
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(input, "\n")
		if want := strings.TrimSpace(first) == "yes"; got != want {
			t.Errorf("input %q approved = %v, want %v", input, got, want)
		}
	})
}

// FuzzConfigFromOutputs: whatever JSON an output holds, reading the
// configuration either fails or yields every field non-empty.
func FuzzConfigFromOutputs(f *testing.F) {
	for _, s := range []string{`"https://x"`, `""`, `42`, `null`, `{"a":1}`, `["x"]`, `"\u0000"`, `not json`} {
		f.Add("api_url", s)
		f.Add("client_secret", s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		outs := stackOutputs()
		outs[name] = tfexec.OutputMeta{Value: json.RawMessage(value)}
		c, err := terraform.ConfigFromOutputs(outs)
		if err != nil {
			return
		}
		for field, v := range map[string]string{
			"region": c.Region, "issuer": c.Issuer, "user_pool_id": c.UserPoolID, "client_id": c.ClientID,
			"client_secret": c.ClientSecret, "hosted_ui_url": c.HostedUIURL, "api_url": c.APIURL, "table_name": c.TableName,
			"portal_url": c.PortalURL,
		} {
			if v == "" {
				t.Errorf("%s empty without an error", field)
			}
		}
	})
}
