package terraform_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/lambdas"
	"github.com/usersvc/usersvc/terraform"
)

func change(typ, name string, actions ...tfjson.Action) *tfjson.ResourceChange {
	return &tfjson.ResourceChange{
		Address: typ + "." + name,
		Mode:    tfjson.ManagedResourceMode,
		Type:    typ,
		Name:    name,
		Change:  &tfjson.Change{Actions: actions},
	}
}

func TestSummarize(t *testing.T) {
	data := &tfjson.ResourceChange{Address: "data.aws_region.x", Mode: tfjson.DataResourceMode, Type: "aws_region", Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionRead}}}
	tests := []struct {
		name    string
		changes []*tfjson.ResourceChange
		outputs map[string]*tfjson.Change
		counts  map[terraform.Action]int
		text    []string // lines the printed summary must hold
		absent  []string // and must not
	}{
		{
			name:   "nothing",
			counts: map[terraform.Action]int{},
			text:   []string{"No changes"},
		},
		{
			name: "no-ops and reads are not changes",
			changes: []*tfjson.ResourceChange{
				change("aws_s3_bucket", "a", tfjson.ActionNoop),
				data,
			},
			counts: map[terraform.Action]int{},
			text:   []string{"No changes"},
		},
		{
			name: "every action",
			changes: []*tfjson.ResourceChange{
				change("aws_lambda_function", "b", tfjson.ActionCreate),
				change("aws_lambda_function", "a", tfjson.ActionCreate),
				change("aws_iam_role", "r", tfjson.ActionCreate),
				change("aws_lambda_function", "c", tfjson.ActionUpdate),
				change("aws_cognito_user_pool_domain", "d", tfjson.ActionDelete, tfjson.ActionCreate),
				change("aws_s3_object", "o", tfjson.ActionCreate, tfjson.ActionDelete),
				change("aws_dynamodb_table", "t", tfjson.ActionDelete),
				change("aws_s3_bucket", "old", tfjson.ActionForget),
			},
			outputs: map[string]*tfjson.Change{
				"api_url": {Actions: tfjson.Actions{tfjson.ActionCreate}},
				"region":  {Actions: tfjson.Actions{tfjson.ActionNoop}},
			},
			counts: map[terraform.Action]int{terraform.Add: 3, terraform.Change: 1, terraform.Replace: 2, terraform.Destroy: 1, terraform.Forget: 1},
			text: []string{
				"Plan: 3 to add, 1 to change, 2 to replace, 1 to destroy, 1 to forget.",
				"  aws_lambda_function   2",
				"      aws_lambda_function.c",
				"      aws_cognito_user_pool_domain.d",
				"      aws_dynamodb_table.t",
				"outputs changing: api_url\n",
				// The stack exists (something changes): additions are named.
				"      aws_lambda_function.a\n      aws_lambda_function.b\n",
			},
		},
		{
			name: "a first deploy counts its additions",
			changes: []*tfjson.ResourceChange{
				change("aws_lambda_function", "a", tfjson.ActionCreate),
				change("aws_lambda_function", "b", tfjson.ActionCreate),
				data,
			},
			counts: map[terraform.Action]int{terraform.Add: 2},
			text:   []string{"Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy.", "  aws_lambda_function   2\n"},
			absent: []string{"aws_lambda_function.a"},
		},
		{
			name: "additions to an unchanged stack are named",
			changes: []*tfjson.ResourceChange{
				change("aws_dynamodb_table", "users", tfjson.ActionNoop),
				change("aws_dynamodb_table", "sessions", tfjson.ActionCreate),
				change("aws_ssm_parameter", "client_secret", tfjson.ActionCreate),
			},
			counts: map[terraform.Action]int{terraform.Add: 2},
			text: []string{
				"Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy.",
				"  aws_dynamodb_table   1\n      aws_dynamodb_table.sessions\n",
				"  aws_ssm_parameter    1\n      aws_ssm_parameter.client_secret\n",
			},
			absent: []string{"aws_dynamodb_table.users"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := terraform.Summarize(&tfjson.Plan{ResourceChanges: tt.changes, OutputChanges: tt.outputs})
			for _, a := range []terraform.Action{terraform.Add, terraform.Change, terraform.Replace, terraform.Destroy, terraform.Forget} {
				if got := s.Count(a); got != tt.counts[a] {
					t.Errorf("Count(%s) = %d, want %d", a, got, tt.counts[a])
				}
			}
			if s.Empty() != (len(tt.counts) == 0) {
				t.Errorf("Empty() = %v", s.Empty())
			}
			text := s.String()
			for _, line := range tt.text {
				if !strings.Contains(text, line) {
					t.Errorf("summary lacks %q:\n%s", line, text)
				}
			}
			for _, line := range tt.absent {
				if strings.Contains(text, line) {
					t.Errorf("summary holds %q:\n%s", line, text)
				}
			}
		})
	}
}

func TestSummarizeNil(t *testing.T) {
	if s := terraform.Summarize(nil); !s.Empty() {
		t.Errorf("Summarize(nil) = %+v", s)
	}
}

// TestSummaryOfOfflinePlan summarises the module's real plan: a first
// deploy adds every resource and touches nothing else.
func TestSummaryOfOfflinePlan(t *testing.T) {
	p := offlinePlan(t).JSON
	s := terraform.Summarize(p)
	total := 0
	for _, rc := range p.ResourceChanges {
		if rc.Mode == tfjson.ManagedResourceMode {
			total++
		}
	}
	if got := s.Count(terraform.Add); got != total || total == 0 {
		t.Errorf("Count(Add) = %d, want every one of the %d resources", got, total)
	}
	for _, a := range []terraform.Action{terraform.Change, terraform.Replace, terraform.Destroy} {
		if n := s.Count(a); n != 0 {
			t.Errorf("Count(%s) = %d on a first deploy", a, n)
		}
	}
	byType := s.ByType(terraform.Add)
	for typ, n := range map[string]int{
		"aws_lambda_function":          len(lambdas.Functions()),
		"aws_iam_role":                 len(lambdas.Functions()),
		"aws_iam_role_policy":          len(lambdas.Functions()) + 1, // the portal's Cognito policy
		"aws_apigatewayv2_api":         2,                            // the user API and the portal's
		"aws_apigatewayv2_stage":       2,
		"aws_apigatewayv2_route":       len(api.Routes) + 1,
		"aws_lambda_permission":        len(api.Routes) + 1,
		"aws_cognito_user_pool":        1,
		"aws_dynamodb_table":           2, // users and sessions
		"aws_ssm_parameter":            1,
		"aws_apigatewayv2_authorizer":  1,
		"aws_cognito_user_pool_client": 1,
		"aws_cognito_user_group":       1,
	} {
		if byType[typ] != n {
			t.Errorf("ByType(Add)[%s] = %d, want %d", typ, byType[typ], n)
		}
	}
	text := s.String()
	if head := fmt.Sprintf("Plan: %d to add, 0 to change, 0 to replace, 0 to destroy.", total); !strings.HasPrefix(text, head) {
		t.Errorf("summary starts %q, want %q", strings.SplitN(text, "\n", 2)[0], head)
	}
	t.Logf("offline plan summary:\n%s", text)
}

// preportalState is a local state of part of a stack deployed before the
// portal: the user API, the pool, the users table and the bucket, with the
// attributes the plan reads from them.
const preportalState = `{"version": 4, "terraform_version": "1.11.0", "serial": 1, "lineage": "6f1c1e0a-3b8e-4d53-9a55-0c9e1b2d7a10", "outputs": {}, "resources": [
{"mode": "managed", "type": "aws_apigatewayv2_api", "name": "http", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": [{"schema_version": 0, "attributes":
  {"id": "a1b2c3", "name": "usersvc-dev", "protocol_type": "HTTP", "api_endpoint": "https://a1b2c3.execute-api.eu-west-1.amazonaws.com",
   "execution_arn": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3", "arn": "arn:aws:apigateway:eu-west-1::/apis/a1b2c3"}}]},
{"mode": "managed", "type": "aws_cognito_user_pool", "name": "users", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": [{"schema_version": 0, "attributes":
  {"id": "eu-west-1_abc", "name": "usersvc-dev", "deletion_protection": "INACTIVE", "username_attributes": ["email"], "auto_verified_attributes": ["email"],
   "arn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc", "endpoint": "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"}}]},
{"mode": "managed", "type": "aws_dynamodb_table", "name": "users", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": [{"schema_version": 1, "attributes":
  {"id": "AppDummy", "name": "AppDummy", "hash_key": "UserId", "billing_mode": "PAY_PER_REQUEST", "deletion_protection_enabled": false,
   "arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/AppDummy"}}]},
{"mode": "managed", "type": "aws_s3_bucket", "name": "packages", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": [{"schema_version": 0, "attributes":
  {"id": "usersvc-dev-lambdas-x", "bucket": "usersvc-dev-lambdas-x", "force_destroy": true, "arn": "arn:aws:s3:::usersvc-dev-lambdas-x"}}]}
]}`

// TestSummaryOfUpgrade plans, offline, a deploy onto a stack deployed
// before the portal existed: the summary names the portal's resources, the
// ones a reviewer of that upgrade must see arrive.
func TestSummaryOfUpgrade(t *testing.T) {
	execPath, pluginDir := tools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := newFixture(ctx, execPath, pluginDir, t.TempDir(), nil)
	if err != nil {
		t.Fatalf("offline module: %v", err)
	}
	p := offlineStatePlan(t, f, preportalState, false)
	text := terraform.Summarize(p.JSON).String()
	for _, addr := range []string{
		"aws_apigatewayv2_api.portal",
		"aws_apigatewayv2_stage.portal",
		`aws_apigatewayv2_route.portal["$default"]`,
		`aws_lambda_permission.portal["$default"]`,
		`aws_lambda_function.function["` + portalFunction + `"]`,
		"aws_iam_role_policy.portal_accounts",
		"aws_dynamodb_table.sessions",
		"aws_ssm_parameter.client_secret",
		"aws_cloudwatch_log_group.portal_access",
	} {
		if !strings.Contains(text, "      "+addr+"\n") {
			t.Errorf("upgrade summary does not name %s", addr)
		}
	}
	if !strings.Contains(text, "portal_url") {
		t.Error("upgrade summary does not say portal_url changes")
	}
	t.Logf("upgrade summary:\n%s", text)
}
