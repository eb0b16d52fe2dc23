package terraform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/lambdas"
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
// module: the same route keys on the user API, each with its integration,
// its invoke permission on its own function, the route table's scopes, and
// one function per route-table function. (The portal's route, on its own
// API, is TestPortalAPI's.)
func TestRoutesMatchRouteTable(t *testing.T) {
	p := offlinePlan(t).JSON
	routes := named(t, p, "aws_apigatewayv2_route", "route")
	integrations := named(t, p, "aws_apigatewayv2_integration", "route")
	permissions := named(t, p, "aws_lambda_permission", "route")
	fns := named(t, p, "aws_lambda_function", "function")

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
	wantFns = lambdas.Functions()
	for k := range fns {
		gotFns = append(gotFns, k)
	}
	sort.Strings(wantFns)
	sort.Strings(gotFns)
	if !slices.Equal(gotFns, wantFns) {
		t.Errorf("functions in the plan %q, in api.Routes %q", gotFns, wantFns)
	}
}

// TestPortalAPI: the portal's own HTTP API, whose one route ($default) has
// no authorizer and reaches the portal function alone, through a
// permission scoped to that route; its stage logs and throttles like the
// user API's.
func TestPortalAPI(t *testing.T) {
	p := offlinePlan(t).JSON
	want(t, "portal protocol_type", one(t, p, "aws_apigatewayv2_api", "portal")["protocol_type"], "HTTP")

	routes := named(t, p, "aws_apigatewayv2_route", "portal")
	if len(routes) != 1 {
		t.Fatalf("%d routes on the portal API, want 1 (%s)", len(routes), portalRouteKey)
	}
	rc, ok := routes[portalRouteKey]
	if !ok {
		t.Fatalf("no portal route keyed %q", portalRouteKey)
	}
	ra := after(t, rc)
	want(t, "portal route_key", ra["route_key"], portalRouteKey)
	want(t, "portal authorization_type", ra["authorization_type"], "NONE")
	if id, _ := ra["authorizer_id"].(string); id != "" || unknown(rc, "authorizer_id") {
		t.Errorf("portal route has an authorizer (%v)", ra["authorizer_id"])
	}
	if len(resources(t, p, "aws_apigatewayv2_authorizer")) != 1 {
		t.Error("want exactly one authorizer, the user API's")
	}

	in, ok := named(t, p, "aws_apigatewayv2_integration", "portal")[portalRouteKey]
	if !ok {
		t.Fatal("no integration for the portal route")
	}
	ia := after(t, in)
	want(t, "portal integration description", ia["description"], portalRouteKey+" -> "+portalFunction)
	want(t, "portal integration_type", ia["integration_type"], "AWS_PROXY")
	want(t, "portal payload_format_version", ia["payload_format_version"], "2.0")

	perm, ok := named(t, p, "aws_lambda_permission", "portal")[portalRouteKey]
	if !ok {
		t.Fatal("no lambda permission for the portal route")
	}
	pa := after(t, perm)
	want(t, "portal permission function_name", pa["function_name"], "usersvc-dev-"+portalFunction)
	want(t, "portal permission principal", pa["principal"], "apigateway.amazonaws.com")
	want(t, "portal permission action", pa["action"], "lambda:InvokeFunction")

	stage := one(t, p, "aws_apigatewayv2_stage", "portal")
	want(t, "portal stage name", stage["name"], "$default")
	want(t, "portal auto_deploy", stage["auto_deploy"], true)
	rs := block(t, stage, "default_route_settings")
	want(t, "portal throttling_burst_limit", rs["throttling_burst_limit"], 50)
	want(t, "portal throttling_rate_limit", rs["throttling_rate_limit"], 100)
	var format map[string]string
	if err := json.Unmarshal([]byte(fmt.Sprint(block(t, stage, "access_log_settings")["format"])), &format); err != nil {
		t.Fatalf("portal access log format is not JSON: %v", err)
	}
	for _, field := range []string{"requestId", "sourceIp", "requestTime", "httpMethod", "routeKey", "status", "integrationErrorMessage"} {
		if !strings.HasPrefix(format[field], "$context.") {
			t.Errorf("portal access log lacks %s: %v", field, format)
		}
	}
	want(t, "portal access log group", one(t, p, "aws_cloudwatch_log_group", "portal_access")["name"], "/aws/api_gw/usersvc-dev-portal")
}

func TestFunctions(t *testing.T) {
	p := offlinePlan(t).JSON
	fns := resources(t, p, "aws_lambda_function")
	groups := named(t, p, "aws_cloudwatch_log_group", "function")
	objects := resources(t, p, "aws_s3_object")
	roles := resources(t, p, "aws_iam_role")
	if len(fns) != len(lambdas.Functions()) {
		t.Errorf("%d functions in the plan, want %d (%v)", len(fns), len(lambdas.Functions()), lambdas.Functions())
	}
	for _, fn := range lambdas.Functions() {
		t.Run(fn, func(t *testing.T) {
			rc, ok := fns[fn]
			if !ok {
				t.Fatalf("no function %q", fn)
			}
			a := after(t, rc)
			want(t, "runtime", a["runtime"], "provided.al2023")
			want(t, "architectures", a["architectures"], []any{"arm64"})
			want(t, "handler", a["handler"], "bootstrap")
			want(t, "tracing_config.mode", block(t, a, "tracing_config")["mode"], "Active")
			if fn == portalFunction {
				// Its environment holds the portal API's endpoint and the
				// client id, known after apply: tests/wiring.tftest.hcl
				// checks it with a mocked provider.
				if !unknown(rc, "environment") {
					t.Errorf("portal environment known at plan time: %v", a["environment"])
				}
			} else {
				want(t, "environment", block(t, a, "environment")["variables"], map[string]any{"TABLE_NAME": "AppDummy"})
			}
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
			if obj, ok := objects[fn]; ok {
				want(t, "package key", after(t, obj)["key"], "lambdas/"+fn+".zip")
			}
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
	const arn = "arn:aws:%s:eu-west-1:" + testAccountID + ":%s"
	users := fmt.Sprintf(arn, "dynamodb", "table/AppDummy")
	sessions := fmt.Sprintf(arn, "dynamodb", "table/usersvc-dev-sessions")
	ownLogs := func(fn string) string {
		return fmt.Sprintf(arn, "logs", "log-group:/aws/lambda/usersvc-dev-"+fn+":log-stream:*")
	}
	// Every action each role may take, and on what: exactly.
	grants := func(fn string, extra map[string]string) map[string]string {
		m := map[string]string{
			"logs:CreateLogStream":     ownLogs(fn),
			"logs:PutLogEvents":        ownLogs(fn),
			"xray:PutTraceSegments":    "*", // X-Ray has no resource-level permissions
			"xray:PutTelemetryRecords": "*",
		}
		for a, r := range extra {
			m[a] = r
		}
		return m
	}
	wantGrants := map[string]map[string]string{
		"get_user":    grants("get_user", map[string]string{"dynamodb:GetItem": users}),
		"create_user": grants("create_user", map[string]string{"dynamodb:PutItem": users}),
		"list_users":  grants("list_users", map[string]string{"dynamodb:Scan": users}),
		portalFunction: grants(portalFunction, map[string]string{
			"dynamodb:GetItem":    sessions,
			"dynamodb:PutItem":    sessions,
			"dynamodb:UpdateItem": sessions,
			"dynamodb:DeleteItem": sessions,
			"ssm:GetParameter":    fmt.Sprintf(arn, "ssm", "parameter/usersvc-dev/portal/client-secret"),
		}),
	}
	policies := named(t, p, "aws_iam_role_policy", "function")
	if len(policies) != len(lambdas.Functions()) {
		t.Errorf("%d role policies, want one per function (%d)", len(policies), len(lambdas.Functions()))
	}
	for _, fn := range lambdas.Functions() {
		t.Run(fn, func(t *testing.T) {
			rc, ok := policies[fn]
			if !ok {
				t.Fatalf("no policy for %s", fn)
			}
			raw, ok := after(t, rc)["policy"].(string)
			if !ok {
				t.Fatalf("policy of %s unknown at plan time (account_id is set, so every ARN is known)", rc.Address)
			}
			var doc policyDoc
			if err := json.Unmarshal([]byte(raw), &doc); err != nil {
				t.Fatalf("policy of %s: %v", rc.Address, err)
			}
			got := map[string]string{}
			for _, st := range doc.Statement {
				if st.Effect != "Allow" || st.Condition != nil {
					t.Errorf("statement %+v: want only unconditional Allow statements without a KMS key", st)
				}
				rs := strs(st.Resource)
				if len(rs) != 1 {
					t.Errorf("statement %+v: want one resource", st)
					continue
				}
				for _, a := range strs(st.Action) {
					if strings.Contains(a, "*") {
						t.Errorf("wildcard action %q", a)
					}
					if prev, dup := got[a]; dup {
						t.Errorf("action %s granted twice (%s, %s)", a, prev, rs[0])
					}
					got[a] = rs[0]
				}
			}
			if !maps.Equal(got, wantGrants[fn]) {
				t.Errorf("grants of %s:\n got %v\nwant %v", fn, got, wantGrants[fn])
			}
			t.Logf("%s may: %s", fn, actionsOf(doc))
		})
	}

	// The account screens' Cognito calls are the portal role's, in a policy
	// of their own: the pool's ARN, their only resource, is known after
	// apply (tests/wiring.tftest.hcl checks actions and resource).
	accounts := named(t, p, "aws_iam_role_policy", "portal_accounts")
	if rc, ok := accounts[""]; !ok || len(accounts) != 1 {
		t.Errorf("want one policy portal_accounts, got %d", len(accounts))
	} else if role := after(t, rc)["role"]; role != nil && role != "usersvc-dev-"+portalFunction {
		t.Errorf("portal_accounts is attached to %v, want the portal's role", role)
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
		t.Errorf("%d managed policy attachments; each role must hold only its inline policies", n)
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
	var groups []*tfjson.ResourceChange
	for _, rc := range p.ResourceChanges {
		if rc.Type == "aws_cloudwatch_log_group" && rc.Mode == tfjson.ManagedResourceMode {
			groups = append(groups, rc)
		}
	}
	if len(groups) != len(lambdas.Functions())+2 {
		t.Errorf("%d log groups, want one per function and one for each API", len(groups))
	}
	for _, rc := range groups {
		want(t, rc.Address+" retention_in_days", after(t, rc)["retention_in_days"], 30)
		// No key given in dev.tfvars: CloudWatch Logs' own encryption.
		want(t, rc.Address+" kms_key_id", after(t, rc)["kms_key_id"], nil)
	}
}

func TestAPI(t *testing.T) {
	p := offlinePlan(t).JSON
	want(t, "protocol_type", one(t, p, "aws_apigatewayv2_api", "http")["protocol_type"], "HTTP")

	stage := one(t, p, "aws_apigatewayv2_stage", "api")
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
	// The deployed portal's own callback and sign-out URLs, first in each
	// list, come from its API's endpoint, known after apply
	// (tests/wiring.tftest.hcl checks them); dev.tfvars adds localhost.
	for _, attr := range []string{"callback_urls", "logout_urls"} {
		if rc := resources(t, p, "aws_cognito_user_pool_client")[""]; !unknown(rc, attr) {
			t.Errorf("%s known at plan time (%v): the portal's own URL is missing", attr, c[attr])
		}
	}
	want(t, "enable_token_revocation", c["enable_token_revocation"], true)
	want(t, "prevent_user_existence_errors", c["prevent_user_existence_errors"], "ENABLED")
	want(t, "id_token_validity", c["id_token_validity"], 60)
	want(t, "access_token_validity", c["access_token_validity"], 60)
	want(t, "refresh_token_validity", c["refresh_token_validity"], 30)

	want(t, "group", only(t, p, "aws_cognito_user_group")["name"], api.AdminGroup)
}

func TestStorage(t *testing.T) {
	p := offlinePlan(t).JSON
	tbl := one(t, p, "aws_dynamodb_table", "users")
	want(t, "table name", tbl["name"], "AppDummy")
	want(t, "billing_mode", tbl["billing_mode"], "PAY_PER_REQUEST")
	want(t, "hash_key", tbl["hash_key"], api.AttrUserID)
	attr := block(t, tbl, "attribute")
	want(t, "attribute", fmt.Sprint(attr["name"], " ", attr["type"]), "UserId S")
	want(t, "point_in_time_recovery", block(t, tbl, "point_in_time_recovery")["enabled"], true)
	want(t, "server_side_encryption", block(t, tbl, "server_side_encryption")["enabled"], true)
	want(t, "deletion_protection_enabled (dev.tfvars)", tbl["deletion_protection_enabled"], false)

	ses := one(t, p, "aws_dynamodb_table", "sessions")
	want(t, "sessions table name", ses["name"], "usersvc-dev-sessions")
	want(t, "sessions billing_mode", ses["billing_mode"], "PAY_PER_REQUEST")
	want(t, "sessions hash_key", ses["hash_key"], "id")
	attr = block(t, ses, "attribute")
	want(t, "sessions attribute", fmt.Sprint(attr["name"], " ", attr["type"]), "id S")
	ttl := block(t, ses, "ttl")
	want(t, "sessions ttl", fmt.Sprint(ttl["attribute_name"], " ", ttl["enabled"]), "expires_at true")
	want(t, "sessions server_side_encryption", block(t, ses, "server_side_encryption")["enabled"], true)
	if _, ok := ses["global_secondary_index"].([]any); ok && len(ses["global_secondary_index"].([]any)) > 0 {
		t.Error("sessions table has an index; the portal reads by id only")
	}

	param := only(t, p, "aws_ssm_parameter")
	want(t, "parameter name", param["name"], "/usersvc-dev/portal/client-secret")
	want(t, "parameter type", param["type"], "SecureString")

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
	for _, name := range []string{"region", "api_url", "portal_url", "issuer", "user_pool_id", "client_id", "client_secret", "hosted_ui_url", "table_name", "sessions_table_name", "client_secret_parameter"} {
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
