# The callback and logout URLs are checked at plan time: Cognito accepts
# https:// anywhere but plain http:// only on localhost, and rejects any
# other URL only at apply, in CreateUserPoolClient, after half the stack is
# up. A mocked provider, so no AWS is needed.

mock_provider "aws" {}

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
    condition     = aws_cognito_user_pool_client.portal.callback_urls == toset(var.callback_urls)
    error_message = "The app client must get the callback URLs as given."
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

run "no_callback_url" {
  command = plan

  variables {
    callback_urls = []
  }

  expect_failures = [var.callback_urls]
}
