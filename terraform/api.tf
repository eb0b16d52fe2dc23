# The user API: stage with access logs and throttling, the Cognito JWT
# authorizer, and one integration, route and invoke permission per route.
# (The portal's own HTTP API is in portal.tf.)

locals {
  # The JSON access log fields of both APIs' stages (the seed's format).
  access_log_fields = {
    requestId               = "$context.requestId"
    sourceIp                = "$context.identity.sourceIp"
    requestTime             = "$context.requestTime"
    protocol                = "$context.protocol"
    httpMethod              = "$context.httpMethod"
    resourcePath            = "$context.resourcePath"
    routeKey                = "$context.routeKey"
    status                  = "$context.status"
    responseLength          = "$context.responseLength"
    integrationErrorMessage = "$context.integrationErrorMessage"
  }
}

resource "aws_apigatewayv2_api" "http" {
  name          = var.name
  description   = "User service HTTP API"
  protocol_type = "HTTP"
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/api_gw/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_apigatewayv2_stage" "api" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = var.stage_name
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn

    # The seed's fields, plus the authorizer's verdict, which is what one
    # looks for behind a 401.
    format = jsonencode(merge(local.access_log_fields, {
      authorizerError = "$context.authorizer.error"
    }))
  }
}

resource "aws_apigatewayv2_authorizer" "cognito" {
  api_id           = aws_apigatewayv2_api.http.id
  name             = "cognito"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = local.issuer
    audience = [aws_cognito_user_pool_client.portal.id]
  }
}

resource "aws_apigatewayv2_integration" "route" {
  for_each = local.routes

  api_id                 = aws_apigatewayv2_api.http.id
  description            = "${each.key} -> ${each.value.function}"
  integration_type       = "AWS_PROXY"
  integration_method     = "POST" # Lambda is always invoked with POST
  integration_uri        = aws_lambda_function.function[each.value.function].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "route" {
  for_each = local.routes

  api_id               = aws_apigatewayv2_api.http.id
  route_key            = each.key
  target               = "integrations/${aws_apigatewayv2_integration.route[each.key].id}"
  authorization_type   = "JWT"
  authorizer_id        = aws_apigatewayv2_authorizer.cognito.id
  authorization_scopes = length(each.value.scopes) > 0 ? each.value.scopes : null
}

locals {
  # "GET /user" => "GET/user": the method and path part of a route's
  # execute-api ARN (<execution arn>/<stage>/<method>/<path>).
  route_arn_paths = {
    for key, _ in local.routes : key => format("%s%s",
      split(" ", key)[0] == "ANY" ? "*" : split(" ", key)[0],
      split(" ", key)[1],
    )
  }
}

# Each function may be invoked by the API only through its own route, in any
# stage, rather than by any route of the API (the seed's /*/*).
resource "aws_lambda_permission" "route" {
  for_each = local.routes

  statement_id  = "api-${lower(replace(each.key, "/[^A-Za-z0-9]+/", "-"))}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function[each.value.function].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/${local.route_arn_paths[each.key]}"
}
