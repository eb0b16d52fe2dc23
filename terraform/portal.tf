# The portal on AWS: its own HTTP API (no authorizer: the portal signs
# people in itself) with one $default route to the portal function, the
# table of sessions, and the SSM parameter holding the app client's secret.
# The portal function itself, its log group, package and role are in
# functions.tf and iam.tf with the others.

locals {
  # The portal's public base URL. The API's endpoint rather than the stage's
  # invoke URL: with the $default stage they are the same, and the app
  # client's callback then depends on the API alone.
  portal_url = aws_apigatewayv2_api.portal.api_endpoint

  sessions_table_name          = "${var.name}-sessions"
  client_secret_parameter_name = "/${var.name}/portal/client-secret"
}

resource "aws_apigatewayv2_api" "portal" {
  name          = "${var.name}-portal"
  description   = "User service portal (web pages and the Cognito callback)"
  protocol_type = "HTTP"
}

resource "aws_cloudwatch_log_group" "portal_access" {
  name              = "/aws/api_gw/${var.name}-portal"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# Always $default: the portal's URLs (the callback among them) hang at the
# root of the endpoint.
resource "aws_apigatewayv2_stage" "portal" {
  api_id      = aws_apigatewayv2_api.portal.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.portal_access.arn
    format          = jsonencode(local.access_log_fields)
  }
}

resource "aws_apigatewayv2_integration" "portal" {
  for_each = local.portal_routes

  api_id                 = aws_apigatewayv2_api.portal.id
  description            = "${each.key} -> ${each.value.function}"
  integration_type       = "AWS_PROXY"
  integration_method     = "POST" # Lambda is always invoked with POST
  integration_uri        = aws_lambda_function.function[each.value.function].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "portal" {
  for_each = local.portal_routes

  api_id             = aws_apigatewayv2_api.portal.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.portal[each.key].id}"
  authorization_type = "NONE"
}

# The portal function may be invoked by its API only through its own route
# ("$default" in the execute-api ARN), in any stage.
resource "aws_lambda_permission" "portal" {
  for_each = local.portal_routes

  statement_id  = "portal-api-${trim(lower(replace(each.key, "/[^A-Za-z0-9]+/", "-")), "-")}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function[each.value.function].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.portal.execution_arn}/*/${each.key}"
}

# Sessions and sign-ins in progress: partition key id (the SHA-256 of the
# session id, never the id), expired items removed by TTL on expires_at
# (the portal treats an item past expires_at as absent, since TTL deletion
# lags). No point-in-time recovery and no deletion protection: a restore
# would bring back sessions that were signed out or rotated, and losing the
# table costs each user one sign-in (see README.md).
resource "aws_dynamodb_table" "sessions" {
  name         = local.sessions_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = false
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

# The app client's secret, read by the portal once per cold start: never in
# the function's environment. (It is in the Terraform state, as the app
# client's own attributes already are: keep the state private.)
resource "aws_ssm_parameter" "client_secret" {
  name        = local.client_secret_parameter_name
  description = "Secret of the ${var.name} portal's Cognito app client"
  type        = "SecureString"
  value       = aws_cognito_user_pool_client.portal.client_secret
  key_id      = var.kms_key_arn
}
