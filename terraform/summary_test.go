package terraform_test

import (
	"fmt"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

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
			},
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
			// Additions are counted, not listed one by one.
			if strings.Contains(text, "aws_lambda_function.a") {
				t.Errorf("summary lists an addition:\n%s", text)
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
		"aws_lambda_function":          len(functions()),
		"aws_iam_role":                 len(functions()),
		"aws_iam_role_policy":          len(functions()) + 1, // the portal's Cognito policy
		"aws_apigatewayv2_api":         2,                    // the user API and the portal's
		"aws_apigatewayv2_stage":       2,
		"aws_apigatewayv2_route":       len(userRoutes()) + 1,
		"aws_lambda_permission":        len(userRoutes()) + 1,
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
