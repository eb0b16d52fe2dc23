package terraform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/usersvc/usersvc/api"
)

// want checks one planned attribute, comparing printed forms so that
// numbers decoded as float64 or json.Number compare alike.
func want(t *testing.T, what string, got, exp any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Errorf("%s = %v, want %v", what, got, exp)
	}
}

func TestFormatted(t *testing.T) {
	execPath, _ := tools(t)
	tf, err := tfexec.NewTerraform(".", execPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ok, files, err := tf.FormatCheck(ctx, tfexec.Recursive(true))
	if err != nil {
		t.Fatalf("terraform fmt -check: %v", err)
	}
	if !ok {
		t.Errorf("terraform fmt would change %v; run terraform fmt -recursive terraform", files)
	}
}

func TestValidate(t *testing.T) {
	f := sharedFixture(t)
	tf, err := tfexec.NewTerraform(f.dir, f.exec)
	if err != nil {
		t.Fatal(err)
	}
	if err := tf.SetEnv(f.env); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := tf.Validate(ctx)
	if err != nil {
		t.Fatalf("terraform validate: %v", err)
	}
	if !out.Valid || out.WarningCount > 0 {
		for _, d := range out.Diagnostics {
			t.Errorf("%s: %s: %s", d.Severity, d.Summary, d.Detail)
		}
		t.Fatalf("terraform validate: valid=%v, %d errors, %d warnings", out.Valid, out.ErrorCount, out.WarningCount)
	}
}

// TestRoutesMatchRouteTable is the contract between api.Routes and the
// module: the same route keys, each with its integration, its invoke
// permission on its own function, the route table's scopes, and one
// function per route-table function.
func TestRoutesMatchRouteTable(t *testing.T) {
	p := offlinePlan(t).JSON
	routes := resources(t, p, "aws_apigatewayv2_route")
	integrations := resources(t, p, "aws_apigatewayv2_integration")
	permissions := resources(t, p, "aws_lambda_permission")
	fns := resources(t, p, "aws_lambda_function")

	var goKeys, tfKeys []string
	for _, r := range api.Routes {
		goKeys = append(goKeys, r.Key)
	}
	for _, rc := range routes {
		tfKeys = append(tfKeys, fmt.Sprint(after(t, rc)["route_key"]))
	}
	sort.Strings(goKeys)
	sort.Strings(tfKeys)
	if !slices.Equal(goKeys, tfKeys) {
		t.Fatalf("routes in the Terraform plan %q, in api.Routes %q: update terraform/routes.tf", tfKeys, goKeys)
	}

	for _, r := range api.Routes {
		t.Run(r.Key, func(t *testing.T) {
			route, ok := routes[r.Key]
			if !ok {
				t.Fatalf("no route resource keyed %q", r.Key)
			}
			ra := after(t, route)
			want(t, "route_key", ra["route_key"], r.Key)
			want(t, "authorization_type", ra["authorization_type"], "JWT")
			scopes := []string{}
			if s, ok := ra["authorization_scopes"].([]any); ok {
				for _, v := range s {
					scopes = append(scopes, fmt.Sprint(v))
				}
			}
			wantScopes := append([]string{}, r.Scopes...)
			sort.Strings(scopes)
			sort.Strings(wantScopes)
			if !slices.Equal(scopes, wantScopes) {
				t.Errorf("authorization_scopes = %q, want %q (api.Routes)", scopes, wantScopes)
			}

			in, ok := integrations[r.Key]
			if !ok {
				t.Fatalf("no integration for %q", r.Key)
			}
			ia := after(t, in)
			want(t, "integration description", ia["description"], r.Key+" -> "+r.Function)
			want(t, "integration_type", ia["integration_type"], "AWS_PROXY")
			want(t, "integration_method", ia["integration_method"], "POST")
			want(t, "payload_format_version", ia["payload_format_version"], "2.0")

			perm, ok := permissions[r.Key]
			if !ok {
				t.Fatalf("no lambda permission for %q", r.Key)
			}
			pa := after(t, perm)
			fn, ok := fns[r.Function]
			if !ok {
				t.Fatalf("no function %q for %q", r.Function, r.Key)
			}
			want(t, "permission function_name", pa["function_name"], after(t, fn)["function_name"])
			want(t, "permission principal", pa["principal"], "apigateway.amazonaws.com")
			want(t, "permission action", pa["action"], "lambda:InvokeFunction")
		})
	}

	var wantFns, gotFns []string
	wantFns = functions()
	for k := range fns {
		gotFns = append(gotFns, k)
	}
	sort.Strings(wantFns)
	sort.Strings(gotFns)
	if !slices.Equal(gotFns, wantFns) {
		t.Errorf("functions in the plan %q, in api.Routes %q", gotFns, wantFns)
	}
}

func TestFunctions(t *testing.T) {
	p := offlinePlan(t).JSON
	fns := resources(t, p, "aws_lambda_function")
	groups := resources(t, p, "aws_cloudwatch_log_group")
	objects := resources(t, p, "aws_s3_object")
	roles := resources(t, p, "aws_iam_role")
	for _, fn := range functions() {
		t.Run(fn, func(t *testing.T) {
			rc, ok := fns[fn]
			if !ok {
				t.Fatalf("no function %q", fn)
			}
			a := after(t, rc)
			want(t, "runtime", a["runtime"], "provided.al2023")
			want(t, "architectures", a["architectures"], []any{"arm64"})
			want(t, "handler", a["handler"], "bootstrap")
			want(t, "TABLE_NAME", block(t, a, "environment")["variables"].(map[string]any)["TABLE_NAME"], "AppDummy")
			if h, _ := a["source_code_hash"].(string); h == "" {
				t.Error("source_code_hash not known at plan time; it must come from the package file")
			}
			lc := block(t, a, "logging_config")
			want(t, "log_format", lc["log_format"], "JSON")
			lg, ok := groups[fn]
			if !ok {
				t.Fatalf("no log group for %q", fn)
			}
			want(t, "logging_config.log_group", lc["log_group"], after(t, lg)["name"])
			want(t, "log group name", after(t, lg)["name"], "/aws/lambda/"+fmt.Sprint(a["function_name"]))
			obj, ok := objects[fn]
			if !ok {
				t.Fatalf("no package object for %q", fn)
			}
			if h, _ := after(t, obj)["source_hash"].(string); h == "" {
				t.Error("package object has no source_hash: a changed zip would not upload")
			}
			if _, ok := roles[fn]; !ok {
				t.Errorf("no role of its own for %q", fn)
			}
		})
	}
}

// policyDoc is an IAM policy document; Action and Resource may be a
// string or a list.
type policyDoc struct {
	Statement []struct {
		Effect    string
		Action    any
		Resource  any
		Principal any
		Condition any
	}
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func TestLeastPrivilege(t *testing.T) {
	p := offlinePlan(t).JSON
	dynamoAction := map[string]string{
		"get_user":    "dynamodb:GetItem",
		"create_user": "dynamodb:PutItem",
		"list_users":  "dynamodb:Scan",
	}
	policies := resources(t, p, "aws_iam_role_policy")
	if len(policies) != len(functions()) {
		t.Errorf("%d role policies, want one per function (%d)", len(policies), len(functions()))
	}
	for fn, rc := range policies {
		t.Run(fn, func(t *testing.T) {
			raw, ok := after(t, rc)["policy"].(string)
			if !ok {
				t.Fatalf("policy of %s unknown at plan time (account_id is set, so every ARN is known)", rc.Address)
			}
			var doc policyDoc
			if err := json.Unmarshal([]byte(raw), &doc); err != nil {
				t.Fatalf("policy of %s: %v", rc.Address, err)
			}
			var dyn []string
			for _, st := range doc.Statement {
				if st.Effect != "Allow" {
					continue
				}
				for _, a := range strs(st.Action) {
					if strings.Contains(a, "*") {
						t.Errorf("wildcard action %q", a)
					}
					if strings.HasPrefix(a, "dynamodb:") {
						dyn = append(dyn, a)
						for _, r := range strs(st.Resource) {
							want(t, "table resource", r, "arn:aws:dynamodb:eu-west-1:"+testAccountID+":table/AppDummy")
						}
					}
				}
				for _, r := range strs(st.Resource) {
					if r == "*" || strings.HasPrefix(r, "arn:aws:dynamodb:*") || strings.HasPrefix(r, "arn:aws:logs:*") {
						t.Errorf("resource %q is a wildcard where the ARN is known", r)
					}
					if strings.HasPrefix(r, "arn:aws:logs:") && !strings.Contains(r, ":log-group:/aws/lambda/usersvc-dev-"+fn+":") {
						t.Errorf("log resource %q is not the function's own log group", r)
					}
				}
			}
			if want := dynamoAction[fn]; !slices.Equal(dyn, []string{want}) {
				t.Errorf("DynamoDB actions %q, want only %q", dyn, want)
			}
			t.Logf("%s may: %s", fn, actionsOf(doc))
		})
	}

	for fn, rc := range resources(t, p, "aws_iam_role") {
		var doc policyDoc
		if err := json.Unmarshal([]byte(fmt.Sprint(after(t, rc)["assume_role_policy"])), &doc); err != nil {
			t.Fatalf("assume role policy of %s: %v", fn, err)
		}
		if len(doc.Statement) != 1 || fmt.Sprint(doc.Statement[0].Principal) != "map[Service:lambda.amazonaws.com]" || doc.Statement[0].Condition == nil {
			t.Errorf("role %s: trust policy %+v, want only lambda.amazonaws.com for this account", fn, doc.Statement)
		}
		if pa, ok := after(t, rc)["managed_policy_arns"].([]any); ok && len(pa) > 0 {
			t.Errorf("role %s has managed policies %v", fn, pa)
		}
	}
	if n := len(resources(t, p, "aws_iam_role_policy_attachment")); n > 0 {
		t.Errorf("%d managed policy attachments; each role must hold only its inline policy", n)
	}
}

func actionsOf(doc policyDoc) string {
	var as []string
	for _, st := range doc.Statement {
		as = append(as, strs(st.Action)...)
	}
	return strings.Join(as, ", ")
}

func TestLogGroupsHaveRetention(t *testing.T) {
	p := offlinePlan(t).JSON
	groups := resources(t, p, "aws_cloudwatch_log_group")
	if len(groups) != len(functions())+1 {
		t.Errorf("%d log groups, want one per function and one for the API", len(groups))
	}
	for _, rc := range groups {
		want(t, rc.Address+" retention_in_days", after(t, rc)["retention_in_days"], 30)
	}
}

func TestAPI(t *testing.T) {
	p := offlinePlan(t).JSON
	want(t, "protocol_type", only(t, p, "aws_apigatewayv2_api")["protocol_type"], "HTTP")

	stage := only(t, p, "aws_apigatewayv2_stage")
	want(t, "auto_deploy", stage["auto_deploy"], true)
	rs := block(t, stage, "default_route_settings")
	want(t, "throttling_burst_limit", rs["throttling_burst_limit"], 50)
	want(t, "throttling_rate_limit", rs["throttling_rate_limit"], 100)
	var format map[string]string
	if err := json.Unmarshal([]byte(fmt.Sprint(block(t, stage, "access_log_settings")["format"])), &format); err != nil {
		t.Fatalf("access log format is not JSON: %v", err)
	}
	for field, v := range map[string]string{
		"requestId": "$context.requestId", "sourceIp": "$context.identity.sourceIp",
		"requestTime": "$context.requestTime", "protocol": "$context.protocol",
		"httpMethod": "$context.httpMethod", "resourcePath": "$context.resourcePath",
		"routeKey": "$context.routeKey", "status": "$context.status",
		"responseLength": "$context.responseLength", "integrationErrorMessage": "$context.integrationErrorMessage",
	} {
		want(t, "access log "+field, format[field], v)
	}

	auth := only(t, p, "aws_apigatewayv2_authorizer")
	want(t, "authorizer_type", auth["authorizer_type"], "JWT")
	want(t, "identity_sources", auth["identity_sources"], []any{"$request.header.Authorization"})
	if _, ok := auth["jwt_configuration"].([]any); !ok {
		// issuer and audience are unknown until the pool and client
		// exist, but the block must be there.
		if rc := resources(t, p, "aws_apigatewayv2_authorizer")[""]; rc.Change.AfterUnknown.(map[string]any)["jwt_configuration"] == nil {
			t.Error("authorizer has no jwt_configuration")
		}
	}
}

func TestCognito(t *testing.T) {
	p := offlinePlan(t).JSON
	pool := only(t, p, "aws_cognito_user_pool")
	want(t, "username_attributes", pool["username_attributes"], []any{"email"})
	want(t, "auto_verified_attributes", pool["auto_verified_attributes"], []any{"email"})
	want(t, "default_email_option", block(t, pool, "verification_message_template")["default_email_option"], "CONFIRM_WITH_LINK")
	rm := block(t, block(t, pool, "account_recovery_setting"), "recovery_mechanism")
	want(t, "recovery mechanism", rm["name"], "verified_email")
	pw := block(t, pool, "password_policy")
	want(t, "password minimum_length", pw["minimum_length"], 12)
	for _, r := range []string{"require_lowercase", "require_uppercase", "require_numbers", "require_symbols"} {
		want(t, "password "+r, pw[r], true)
	}
	want(t, "deletion_protection (dev.tfvars)", pool["deletion_protection"], "INACTIVE")

	want(t, "hosted UI domain", only(t, p, "aws_cognito_user_pool_domain")["domain"], "usersvc-dev-change-me")

	c := only(t, p, "aws_cognito_user_pool_client")
	want(t, "generate_secret", c["generate_secret"], true)
	want(t, "allowed_oauth_flows", c["allowed_oauth_flows"], []any{"code"})
	want(t, "allowed_oauth_flows_user_pool_client", c["allowed_oauth_flows_user_pool_client"], true)
	scopes := strs(c["allowed_oauth_scopes"])
	sort.Strings(scopes)
	want(t, "allowed_oauth_scopes", scopes, []string{"email", "openid", "profile"})
	want(t, "callback_urls", c["callback_urls"], []any{"http://localhost:8080/auth/callback"})
	want(t, "logout_urls", c["logout_urls"], []any{"http://localhost:8080/"})
	want(t, "enable_token_revocation", c["enable_token_revocation"], true)
	want(t, "prevent_user_existence_errors", c["prevent_user_existence_errors"], "ENABLED")
	want(t, "id_token_validity", c["id_token_validity"], 60)
	want(t, "access_token_validity", c["access_token_validity"], 60)
	want(t, "refresh_token_validity", c["refresh_token_validity"], 30)

	want(t, "group", only(t, p, "aws_cognito_user_group")["name"], api.AdminGroup)
}

func TestStorage(t *testing.T) {
	p := offlinePlan(t).JSON
	tbl := only(t, p, "aws_dynamodb_table")
	want(t, "table name", tbl["name"], "AppDummy")
	want(t, "billing_mode", tbl["billing_mode"], "PAY_PER_REQUEST")
	want(t, "hash_key", tbl["hash_key"], api.AttrUserID)
	attr := block(t, tbl, "attribute")
	want(t, "attribute", fmt.Sprint(attr["name"], " ", attr["type"]), "UserId S")
	want(t, "point_in_time_recovery", block(t, tbl, "point_in_time_recovery")["enabled"], true)
	want(t, "server_side_encryption", block(t, tbl, "server_side_encryption")["enabled"], true)
	want(t, "deletion_protection_enabled (dev.tfvars)", tbl["deletion_protection_enabled"], false)

	pab := only(t, p, "aws_s3_bucket_public_access_block")
	for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		want(t, k, pab[k], true)
	}
	want(t, "object_ownership", block(t, only(t, p, "aws_s3_bucket_ownership_controls"), "rule")["object_ownership"], "BucketOwnerEnforced")
	sse := block(t, block(t, only(t, p, "aws_s3_bucket_server_side_encryption_configuration"), "rule"), "apply_server_side_encryption_by_default")
	want(t, "sse_algorithm", sse["sse_algorithm"], "AES256")
	want(t, "versioning", block(t, only(t, p, "aws_s3_bucket_versioning"), "versioning_configuration")["status"], "Enabled")
	only(t, p, "aws_s3_bucket_policy")
}

func TestOutputs(t *testing.T) {
	p := offlinePlan(t).JSON
	outs := p.Config.RootModule.Outputs
	for _, name := range []string{"region", "api_url", "issuer", "user_pool_id", "client_id", "client_secret", "hosted_ui_url", "table_name"} {
		o, ok := outs[name]
		if !ok {
			t.Errorf("output %s missing", name)
			continue
		}
		if sensitive := name == "client_secret"; o.Sensitive != sensitive {
			t.Errorf("output %s sensitive = %v, want %v", name, o.Sensitive, sensitive)
		}
	}
	if oc := p.OutputChanges["hosted_ui_url"]; oc == nil || (oc.After != nil && oc.After != "https://usersvc-dev-change-me.auth.eu-west-1.amazoncognito.com") {
		t.Errorf("hosted_ui_url = %+v", oc)
	}
}

// TestWiring runs the module's own `terraform test` files (tests/): with a
// mocked provider they check the values only AWS knows after creating the
// resources, such as each invoke permission's source ARN.
func TestWiring(t *testing.T) {
	f := sharedFixture(t)
	tf, err := tfexec.NewTerraform(f.dir, f.exec)
	if err != nil {
		t.Fatal(err)
	}
	if err := tf.SetEnv(f.env); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out strings.Builder
	if err := tf.Test(ctx, &out); err != nil {
		t.Errorf("terraform test: %v", err)
		for _, line := range strings.Split(out.String(), "\n") {
			var msg struct {
				Message    string `json:"@message"`
				Diagnostic *struct {
					Summary, Detail string
				} `json:"diagnostic"`
			}
			if json.Unmarshal([]byte(line), &msg) != nil {
				continue
			}
			if msg.Diagnostic != nil {
				t.Errorf("%s: %s", msg.Diagnostic.Summary, msg.Diagnostic.Detail)
			} else if msg.Message != "" {
				t.Log(msg.Message)
			}
		}
	}
}
