# What an offline plan cannot show, because the values are only known once
# AWS has created the resources: the ARNs and ids that wire the pieces
# together. A mocked provider supplies them at plan time, so this runs
# without AWS or credentials: `terraform init && terraform test` in
# terraform/ after `make lambdas` (the Go tests run it too).

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      id            = "a1b2c3"
      execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3"
      api_endpoint  = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com"
    }
  }

  mock_resource "aws_apigatewayv2_stage" {
    defaults = {
      invoke_url = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/"
    }
  }

  mock_resource "aws_apigatewayv2_authorizer" {
    defaults = {
      id = "auth123"
    }
  }

  mock_resource "aws_cognito_user_pool" {
    defaults = {
      id       = "eu-west-1_Mock"
      arn      = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Mock"
      endpoint = "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock"
    }
  }

  mock_resource "aws_cognito_user_pool_client" {
    defaults = {
      id            = "mockclientid"
      client_secret = "mock-client-secret"
    }
  }

  mock_resource "aws_apigatewayv2_integration" {
    defaults = {
      id = "integ1"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:mocked/invocations"
    }
  }

  mock_resource "aws_ssm_parameter" {
    defaults = {
      arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/usersvc/portal/client-secret"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/AppDummy"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/mocked"
    }
  }
}

# The two APIs and the two tables must not look alike, or a test could
# not tell the portal's from the user API's.
override_resource {
  target          = aws_apigatewayv2_api.portal
  override_during = plan
  values = {
    id            = "p0r7a1"
    execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:p0r7a1"
    api_endpoint  = "https://p0r7a1.execute-api.eu-west-1.amazonaws.com"
  }
}

override_resource {
  target          = aws_lambda_function.function["portal"]
  override_during = plan
  values = {
    invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:usersvc-portal/invocations"
  }
}

override_resource {
  target          = aws_apigatewayv2_integration.portal["$default"]
  override_during = plan
  values = {
    id = "portalinteg"
  }
}

override_resource {
  target          = aws_iam_role.function["portal"]
  override_during = plan
  values = {
    id  = "usersvc-portal"
    arn = "arn:aws:iam::123456789012:role/usersvc-portal"
  }
}

override_resource {
  target          = aws_dynamodb_table.sessions
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/usersvc-sessions"
  }
}

variables {
  cognito_domain_prefix = "usersvc-test"
}

run "portal_api_has_no_authorizer" {
  command = plan

  assert {
    condition     = keys(aws_apigatewayv2_route.portal) == ["$default"] && aws_apigatewayv2_route.portal["$default"].route_key == "$default"
    error_message = "The portal API must have exactly one route, $default."
  }

  assert {
    condition     = aws_apigatewayv2_route.portal["$default"].authorization_type == "NONE" && aws_apigatewayv2_route.portal["$default"].authorizer_id == null
    error_message = "The portal's route must have no authorizer: the portal signs people in itself."
  }

  assert {
    condition     = aws_apigatewayv2_route.portal["$default"].api_id == "p0r7a1" && aws_apigatewayv2_integration.portal["$default"].api_id == "p0r7a1" && aws_apigatewayv2_stage.portal.api_id == "p0r7a1"
    error_message = "The portal's route, integration and stage must be on the portal's API."
  }

  assert {
    condition     = alltrue([for r in aws_apigatewayv2_route.route : r.api_id == "a1b2c3"])
    error_message = "The user API's routes must stay on the user API."
  }

  assert {
    condition     = aws_apigatewayv2_route.portal["$default"].target == "integrations/portalinteg"
    error_message = "The portal's route must target its integration."
  }

  assert {
    condition     = aws_apigatewayv2_integration.portal["$default"].integration_uri == "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:usersvc-portal/invocations"
    error_message = "The portal's integration must invoke the portal function."
  }

  assert {
    condition     = aws_lambda_permission.portal["$default"].source_arn == "arn:aws:execute-api:eu-west-1:123456789012:p0r7a1/*/$default"
    error_message = "The portal's invoke permission must allow exactly <portal execution arn>/*/$default: ${aws_lambda_permission.portal["$default"].source_arn}"
  }

  assert {
    condition     = aws_lambda_permission.portal["$default"].function_name == aws_lambda_function.function["portal"].function_name
    error_message = "The portal's invoke permission must be on the portal function."
  }
}

run "callback_is_the_portal" {
  command = plan

  assert {
    condition     = aws_cognito_user_pool_client.portal.callback_urls == toset(["https://p0r7a1.execute-api.eu-west-1.amazonaws.com/auth/callback"])
    error_message = "Without extra URLs the app client's only callback must be <portal endpoint>/auth/callback: ${jsonencode(aws_cognito_user_pool_client.portal.callback_urls)}"
  }

  assert {
    condition     = aws_cognito_user_pool_client.portal.logout_urls == toset(["https://p0r7a1.execute-api.eu-west-1.amazonaws.com/"])
    error_message = "Without extra URLs the app client's only sign-out URL must be <portal endpoint>/: ${jsonencode(aws_cognito_user_pool_client.portal.logout_urls)}"
  }

  assert {
    condition     = output.portal_url == "https://p0r7a1.execute-api.eu-west-1.amazonaws.com"
    error_message = "portal_url must be the portal API's endpoint: ${output.portal_url}"
  }
}

run "extra_urls_for_a_local_portal" {
  command = plan

  variables {
    callback_urls = ["http://localhost:8080/auth/callback"]
    logout_urls   = ["http://localhost:8080/"]
  }

  assert {
    condition     = aws_cognito_user_pool_client.portal.callback_urls == toset(["https://p0r7a1.execute-api.eu-west-1.amazonaws.com/auth/callback", "http://localhost:8080/auth/callback"])
    error_message = "The extra callback URLs must come on top of the portal's own."
  }

  assert {
    condition     = aws_cognito_user_pool_client.portal.logout_urls == toset(["https://p0r7a1.execute-api.eu-west-1.amazonaws.com/", "http://localhost:8080/"])
    error_message = "The extra sign-out URLs must come on top of the portal's own."
  }
}

run "portal_function_configuration" {
  command = plan

  assert {
    condition = aws_lambda_function.function["portal"].environment[0].variables == tomap({
      PORTAL_URL                     = "https://p0r7a1.execute-api.eu-west-1.amazonaws.com"
      PORTAL_ISSUER                  = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock"
      PORTAL_CLIENT_ID               = "mockclientid"
      PORTAL_API_URL                 = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com"
      SESSIONS_TABLE                 = "usersvc-sessions"
      PORTAL_CLIENT_SECRET_PARAMETER = "/usersvc/portal/client-secret"
    })
    error_message = "The portal's environment is wrong: ${jsonencode(aws_lambda_function.function["portal"].environment[0].variables)}"
  }

  assert {
    condition     = !contains(values(aws_lambda_function.function["portal"].environment[0].variables), "mock-client-secret")
    error_message = "The client secret must never be in the function's environment."
  }

  assert {
    condition     = aws_ssm_parameter.client_secret.type == "SecureString" && aws_ssm_parameter.client_secret.value == "mock-client-secret"
    error_message = "The parameter must be a SecureString holding the app client's secret."
  }

  assert {
    condition     = alltrue([for f in aws_lambda_function.function : f.tracing_config[0].mode == "Active"])
    error_message = "Every function must trace actively with X-Ray."
  }
}

run "portal_role_is_least_privilege" {
  command = plan

  assert {
    condition = [for st in jsondecode(aws_iam_role_policy.function["portal"].policy).Statement : st if st.Sid == "Table"][0] == {
      Sid      = "Table"
      Effect   = "Allow"
      Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      Resource = "arn:aws:dynamodb:eu-west-1:123456789012:table/usersvc-sessions"
    }
    error_message = "The portal may only get, put, update and delete items of the sessions table."
  }

  assert {
    condition = [for st in jsondecode(aws_iam_role_policy.function["portal"].policy).Statement : st if st.Sid == "ClientSecret"][0] == {
      Sid      = "ClientSecret"
      Effect   = "Allow"
      Action   = ["ssm:GetParameter"]
      Resource = "arn:aws:ssm:eu-west-1:123456789012:parameter/usersvc/portal/client-secret"
    }
    error_message = "The portal may only get its one parameter."
  }

  assert {
    condition     = aws_iam_role_policy.portal_accounts.role == "usersvc-portal"
    error_message = "The Cognito policy must be the portal role's."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.portal_accounts.policy).Statement == [{
      Sid    = "UserPoolAccounts"
      Effect = "Allow"
      Action = [
        "cognito-idp:ListUsers",
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminListGroupsForUser",
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminAddUserToGroup",
        "cognito-idp:AdminRemoveUserFromGroup",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminEnableUser",
        "cognito-idp:AdminResetUserPassword",
        "cognito-idp:AdminUserGlobalSignOut",
      ]
      Resource = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Mock"
    }]
    error_message = "The portal may call exactly the account screens' Cognito actions, on the user pool only: ${aws_iam_role_policy.portal_accounts.policy}"
  }

  assert {
    condition = alltrue([
      for fn, p in aws_iam_role_policy.function : fn == "portal" || alltrue([
        for st in jsondecode(p.policy).Statement : !anytrue([for a in flatten([st.Action]) : startswith(a, "ssm:") || startswith(a, "cognito-idp:")])
      ])
    ])
    error_message = "Only the portal's role may read the parameter or call Cognito."
  }

  assert {
    condition     = length(aws_iam_role_policy.function) == length(aws_lambda_function.function)
    error_message = "Every function, the portal included, must have its own policy."
  }
}

run "kms_key_everywhere" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = alltrue(concat(
      [for g in aws_cloudwatch_log_group.function : g.kms_key_id == var.kms_key_arn],
      [aws_cloudwatch_log_group.api_access.kms_key_id == var.kms_key_arn, aws_cloudwatch_log_group.portal_access.kms_key_id == var.kms_key_arn],
    ))
    error_message = "Every log group must be encrypted with the given key."
  }

  assert {
    condition     = aws_dynamodb_table.users.server_side_encryption[0].kms_key_arn == var.kms_key_arn && aws_dynamodb_table.sessions.server_side_encryption[0].kms_key_arn == var.kms_key_arn
    error_message = "Both tables must be encrypted with the given key."
  }

  assert {
    condition = alltrue([for r in aws_s3_bucket_server_side_encryption_configuration.packages.rule : (
      r.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      r.apply_server_side_encryption_by_default[0].kms_master_key_id == var.kms_key_arn
    )])
    error_message = "The package bucket must be encrypted with the given key."
  }

  assert {
    condition     = aws_ssm_parameter.client_secret.key_id == var.kms_key_arn
    error_message = "The client secret's parameter must be encrypted with the given key."
  }

  assert {
    condition = alltrue([
      for fn, p in aws_iam_role_policy.function : length([
        for st in jsondecode(p.policy).Statement : st
        if st.Sid == "TableKey" && st.Resource == var.kms_key_arn && contains(st.Action, "kms:Decrypt") && try(st.Condition.StringEquals["kms:ViaService"], "") == "dynamodb.eu-west-1.amazonaws.com"
      ]) == 1
    ])
    error_message = "Every role must be able to use the key through DynamoDB, and only through it."
  }

  assert {
    condition = length([
      for st in jsondecode(aws_iam_role_policy.function["portal"].policy).Statement : st
      if st.Sid == "ClientSecretKey" && st.Action == ["kms:Decrypt"] && st.Resource == var.kms_key_arn && try(st.Condition.StringEquals["kms:ViaService"], "") == "ssm.eu-west-1.amazonaws.com"
    ]) == 1
    error_message = "The portal's role must be able to decrypt the parameter through SSM."
  }

  assert {
    condition = alltrue([
      for fn, p in aws_iam_role_policy.function : alltrue([
        for st in jsondecode(p.policy).Statement : contains(["Table", "ClientSecret", "OwnLogs", "Tracing"], st.Sid) || st.Resource == var.kms_key_arn
      ])
    ])
    error_message = "A KMS statement must name the given key only."
  }
}

run "no_kms_key_no_kms_grants" {
  command = plan

  assert {
    condition = alltrue([
      for fn, p in aws_iam_role_policy.function : alltrue([
        for st in jsondecode(p.policy).Statement : !anytrue([for a in flatten([st.Action]) : startswith(a, "kms:")])
      ])
    ])
    error_message = "Without a key, no role may use KMS."
  }

  assert {
    condition     = aws_s3_bucket_server_side_encryption_configuration.packages.rule != null && alltrue([for r in aws_s3_bucket_server_side_encryption_configuration.packages.rule : r.apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"])
    error_message = "Without a key, the bucket stays on AES256."
  }
}

run "permissions_are_scoped_to_their_route" {
  command = plan

  assert {
    condition = alltrue([
      for key, p in aws_lambda_permission.route :
      p.source_arn == "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/*/${replace(key, " ", "")}"
    ])
    error_message = "Each Lambda permission must allow exactly <execution arn>/*/<METHOD><path> of its own route: ${jsonencode({ for k, p in aws_lambda_permission.route : k => p.source_arn })}"
  }
}

run "authorizer_trusts_the_pool_and_the_portal" {
  command = plan

  assert {
    condition     = aws_apigatewayv2_authorizer.cognito.jwt_configuration[0].issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock"
    error_message = "The JWT authorizer's issuer must be https://<user pool endpoint>."
  }

  assert {
    condition     = length(aws_apigatewayv2_authorizer.cognito.jwt_configuration[0].audience) == 1 && contains(aws_apigatewayv2_authorizer.cognito.jwt_configuration[0].audience, "mockclientid")
    error_message = "The JWT authorizer's audience must be the portal's app client id."
  }

  assert {
    condition     = alltrue([for r in aws_apigatewayv2_route.route : r.authorizer_id == aws_apigatewayv2_authorizer.cognito.id])
    error_message = "Every route must use the Cognito authorizer."
  }
}

run "policies_name_the_resources_without_an_account_id" {
  command = plan

  assert {
    condition = alltrue([
      for fn, p in aws_iam_role_policy.function : fn == "portal" ||
      [for st in jsondecode(p.policy).Statement : st.Resource if st.Sid == "Table"] == ["arn:aws:dynamodb:eu-west-1:123456789012:table/AppDummy"]
    ])
    error_message = "The DynamoDB statement of each user API function must name the users table's ARN."
  }

  assert {
    condition = alltrue([
      for fn, p in aws_iam_role_policy.function :
      [for st in jsondecode(p.policy).Statement : st.Resource if st.Sid == "OwnLogs"] == ["${aws_cloudwatch_log_group.function[fn].arn}:log-stream:*"]
    ])
    error_message = "The log statement must name the function's own log group."
  }
}

run "outputs" {
  command = plan

  assert {
    condition     = output.api_url == "https://a1b2c3.execute-api.eu-west-1.amazonaws.com"
    error_message = "api_url must be the stage's URL without a trailing slash: ${output.api_url}"
  }

  assert {
    condition     = output.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock"
    error_message = "issuer must be the pool's OIDC issuer."
  }

  assert {
    condition     = output.hosted_ui_url == "https://usersvc-test.auth.eu-west-1.amazoncognito.com"
    error_message = "hosted_ui_url must be the Hosted UI domain's base URL."
  }
}

run "wrong_values_fail_early" {
  command = plan

  variables {
    region                = "Europe"
    cognito_domain_prefix = "my-cognito-app"
    log_retention_days    = 10
    callback_urls         = ["http://portal.example.com/auth/callback"]
  }

  expect_failures = [
    var.region,
    var.cognito_domain_prefix,
    var.log_retention_days,
    var.callback_urls,
  ]
}
