package terraform_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/usersvc/usersvc/terraform"
)

// deployedState is a local state, as a deploy would have left it, of part
// of the stack: the user pool and the table with their deletion protection
// as given, and two unprotected resources that a destroy would delete
// first. Only the attributes the destroy plan reads are filled in.
func deployedState(poolProtection string, tableProtected bool) string {
	const provider = `"provider": "provider[\"registry.terraform.io/hashicorp/aws\"]"`
	resource := func(typ, name string, schema int, attrs string) string {
		return fmt.Sprintf(`{"mode": "managed", "type": %q, "name": %q, %s, "instances": [{"schema_version": %d, "attributes": %s}]}`,
			typ, name, provider, schema, attrs)
	}
	return `{"version": 4, "terraform_version": "1.11.0", "serial": 1, "lineage": "0b6c0a52-4a55-4a1e-9f0e-5d0f3e1c2a01", "outputs": {}, "resources": [` +
		strings.Join([]string{
			resource("aws_apigatewayv2_api", "http", 0, `{"id": "a1b2c3", "name": "usersvc-dev", "protocol_type": "HTTP"}`),
			resource("aws_s3_bucket", "packages", 0, `{"id": "usersvc-dev-lambdas-x", "bucket": "usersvc-dev-lambdas-x", "force_destroy": true}`),
			resource("aws_cognito_user_pool", "users", 0, fmt.Sprintf(`{"id": "eu-west-1_abc", "name": "usersvc-dev", "deletion_protection": %q}`, poolProtection)),
			resource("aws_dynamodb_table", "users", 1, fmt.Sprintf(`{"id": "AppDummy", "name": "AppDummy", "deletion_protection_enabled": %t}`, tableProtected)),
		}, ",\n") + `]}`
}

// offlineDestroyPlan writes state into a fresh initialised copy of the
// module and has terraform plan its destruction. Without AWS there is no
// refresh (-refresh=false): the plan's prior values are the state's, as
// after the refresh a real `portal destroy` does.
func offlineDestroyPlan(t *testing.T, f *fixture, state string) *terraform.Plan {
	t.Helper()
	return offlineStatePlan(t, f, state, true)
}

// offlineStatePlan is offlineDestroyPlan, or with destroy false the plan
// of a deploy onto the stack the state describes.
func offlineStatePlan(t *testing.T, f *fixture, state string, destroy bool) *terraform.Plan {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, "terraform.tfstate"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	tf, err := tfexec.NewTerraform(f.dir, f.exec)
	if err != nil {
		t.Fatal(err)
	}
	if err := tf.SetEnv(f.env); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	file := filepath.Join(t.TempDir(), "state.tfplan")
	if _, err := tf.Plan(ctx, tfexec.Destroy(destroy), tfexec.Refresh(false), tfexec.Out(file),
		tfexec.VarFile(filepath.Join(f.dir, "env", "dev.tfvars")), tfexec.Var("lambda_dist_dir="+f.dist)); err != nil {
		t.Fatalf("terraform plan (destroy %v): %v", destroy, err)
	}
	js, err := tf.ShowPlanFile(ctx, file)
	if err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	return &terraform.Plan{File: file, JSON: js, Destroy: destroy}
}

// TestDestroyRefusesProtectedStack plans, offline, the destruction of a
// deployed stack and checks that Destroy refuses it before asking, and
// before applying even with -auto-approve, while deletion protection is on,
// and says how to turn it off.
func TestDestroyRefusesProtectedStack(t *testing.T) {
	execPath, pluginDir := tools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := newFixture(ctx, execPath, pluginDir, t.TempDir(), nil)
	if err != nil {
		t.Fatalf("offline module: %v", err)
	}
	tests := []struct {
		name          string
		pool          string
		table         bool
		wantProtected []string // nil: destroyed
	}{
		{"both protected (the default)", "ACTIVE", true, []string{"aws_cognito_user_pool.users", "aws_dynamodb_table.users"}},
		{"protection turned off and deployed", "INACTIVE", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{t: t, plan: offlineDestroyPlan(t, f, deployedState(tt.pool, tt.table))}
			asked := false
			d := &terraform.Deployer{Stack: rec, Out: io.Discard, AutoApprove: true,
				Confirm: func(context.Context, string) (bool, error) { asked = true; return true, nil }}
			s, err := d.Destroy(context.Background())
			if tt.wantProtected == nil {
				if err != nil {
					t.Fatalf("Destroy: %v", err)
				}
				if rec.applied != rec.plan || s.Count(terraform.Destroy) != 4 {
					t.Errorf("applied %v, summary %+v; want the destroy plan of 4 resources applied", rec.applied, s)
				}
				return
			}
			if !errors.Is(err, terraform.ErrProtected) {
				t.Fatalf("Destroy error = %v, want ErrProtected", err)
			}
			if rec.applied != nil || asked {
				t.Errorf("applied = %v, asked = %v after refusing", rec.applied != nil, asked)
			}
			for _, s := range append(tt.wantProtected, "deletion_protection = false", "portal deploy", "nothing was changed") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q: %v", s, err)
				}
			}
		})
	}
}

// TestProtected covers each combination of resource type, protection and
// action on plans built here.
func TestProtected(t *testing.T) {
	rc := func(typ, addr string, before map[string]any, actions ...tfjson.Action) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{Address: addr, Type: typ, Mode: tfjson.ManagedResourceMode,
			Change: &tfjson.Change{Actions: actions, Before: before}}
	}
	const pool, table = "aws_cognito_user_pool", "aws_dynamodb_table"
	activePool := map[string]any{"deletion_protection": "ACTIVE"}
	inactivePool := map[string]any{"deletion_protection": "INACTIVE"}
	protectedTable := map[string]any{"deletion_protection_enabled": true}
	openTable := map[string]any{"deletion_protection_enabled": false}
	del := tfjson.ActionDelete
	tests := []struct {
		name    string
		changes []*tfjson.ResourceChange
		want    []string
	}{
		{"pool only", []*tfjson.ResourceChange{rc(pool, "p", activePool, del), rc(table, "t", openTable, del)}, []string{"p"}},
		{"table only", []*tfjson.ResourceChange{rc(pool, "p", inactivePool, del), rc(table, "t", protectedTable, del)}, []string{"t"}},
		{"neither", []*tfjson.ResourceChange{rc(pool, "p", inactivePool, del), rc(table, "t", openTable, del)}, nil},
		{"replaced", []*tfjson.ResourceChange{rc(pool, "p", activePool, del, tfjson.ActionCreate)}, []string{"p"}},
		{"updated, not deleted", []*tfjson.ResourceChange{rc(pool, "p", activePool, tfjson.ActionUpdate), rc(table, "t", protectedTable, tfjson.ActionNoop)}, nil},
		{"created", []*tfjson.ResourceChange{rc(table, "t", nil, tfjson.ActionCreate)}, nil},
		{"other types", []*tfjson.ResourceChange{rc("aws_s3_bucket", "b", map[string]any{"deletion_protection": "ACTIVE"}, del)}, nil},
		{"data source", []*tfjson.ResourceChange{{Address: "d", Type: pool, Mode: tfjson.DataResourceMode,
			Change: &tfjson.Change{Actions: tfjson.Actions{del}, Before: activePool}}}, nil},
		{"sorted", []*tfjson.ResourceChange{rc(table, "z", protectedTable, del), rc(pool, "a", activePool, del)}, []string{"a", "z"}},
		{"no change", []*tfjson.ResourceChange{nil, {Type: pool, Mode: tfjson.ManagedResourceMode}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := terraform.Protected(&tfjson.Plan{ResourceChanges: tt.changes}); !slices.Equal(got, tt.want) {
				t.Errorf("Protected = %q, want %q", got, tt.want)
			}
		})
	}
	if got := terraform.Protected(nil); got != nil {
		t.Errorf("Protected(nil) = %q", got)
	}
}
