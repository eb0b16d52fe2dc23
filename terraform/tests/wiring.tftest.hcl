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
      endpoint = "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock"
    }
  }

  mock_resource "aws_cognito_user_pool_client" {
    defaults = {
      id = "mockclientid"
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

variables {
  cognito_domain_prefix = "usersvc-test"
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
      for fn, p in aws_iam_role_policy.function :
      jsondecode(p.policy).Statement[0].Resource == "arn:aws:dynamodb:eu-west-1:123456789012:table/AppDummy"
    ])
    error_message = "The DynamoDB statement must name the table's ARN."
  }

  assert {
    condition = alltrue([
      for fn, p in aws_iam_role_policy.function :
      jsondecode(p.policy).Statement[1].Resource == "${aws_cloudwatch_log_group.function[fn].arn}:log-stream:*"
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
