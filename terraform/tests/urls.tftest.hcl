# The callback and logout URLs (the extra ones, beside the deployed
# portal's own) and the KMS key ARN are checked at plan time: Cognito accepts
# https:// anywhere but plain http:// only on localhost, and rejects any
# other URL only at apply, in CreateUserPoolClient, after half the stack is
# up. A mocked provider, so no AWS is needed.

mock_provider "aws" {
  override_during = plan

  # The deployed portal's own URLs hang below its API's endpoint.
  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      api_endpoint  = "https://p0r7a1.execute-api.eu-west-1.amazonaws.com"
      execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:p0r7a1"
    }
  }
}

variables {
  cognito_domain_prefix = "usersvc-test"
}

run "https_and_localhost_are_accepted" {
  command = plan

  variables {
    callback_urls = ["https://portal.example.com/auth/callback", "http://localhost/auth/callback", "http://localhost:3000"]
    logout_urls   = ["https://portal.example.com/", "http://localhost:8080/", "http://localhost"]
  }

  assert {
    condition     = alltrue([for u in var.callback_urls : contains(aws_cognito_user_pool_client.portal.callback_urls, u)]) && length(aws_cognito_user_pool_client.portal.callback_urls) == length(var.callback_urls) + 1
    error_message = "The app client must get the callback URLs as given, besides the portal's own."
  }

  assert {
    condition     = alltrue([for u in var.logout_urls : contains(aws_cognito_user_pool_client.portal.logout_urls, u)]) && length(aws_cognito_user_pool_client.portal.logout_urls) == length(var.logout_urls) + 1
    error_message = "The app client must get the logout URLs as given, besides the portal's own."
  }
}

run "loopback_address_is_not_localhost" {
  command = plan

  variables {
    callback_urls = ["http://127.0.0.1:8080/auth/callback"]
    logout_urls   = ["http://127.0.0.1:8080/"]
  }

  expect_failures = [var.callback_urls, var.logout_urls]
}

run "ipv6_loopback_is_not_localhost" {
  command = plan

  variables {
    callback_urls = ["http://[::1]:8080/auth/callback"]
    logout_urls   = ["http://[::1]:8080/"]
  }

  expect_failures = [var.callback_urls, var.logout_urls]
}

run "plain_http_elsewhere" {
  command = plan

  variables {
    callback_urls = ["https://portal.example.com/auth/callback", "http://portal.example.com/auth/callback"]
    logout_urls   = ["http://localhost.example.com/"]
  }

  expect_failures = [var.callback_urls, var.logout_urls]
}

run "fragment" {
  command = plan

  variables {
    callback_urls = ["https://portal.example.com/auth/callback#done"]
    logout_urls   = ["http://localhost:8080/#top"]
  }

  expect_failures = [var.callback_urls, var.logout_urls]
}

run "no_extra_url" {
  command = plan

  variables {
    callback_urls = []
    logout_urls   = []
  }

  assert {
    condition     = length(aws_cognito_user_pool_client.portal.callback_urls) == 1 && length(aws_cognito_user_pool_client.portal.logout_urls) == 1
    error_message = "Without extra URLs the app client must have the portal's own callback and sign-out URLs only."
  }
}

run "kms_key_must_be_a_key_arn" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/usersvc"
  }

  expect_failures = [var.kms_key_arn]
}
