locals {
  issuer  = "https://${aws_cognito_user_pool.users.endpoint}"
  api_url = trimsuffix(aws_apigatewayv2_stage.api.invoke_url, "/")
}

output "region" {
  description = "AWS region of the stack."
  value       = var.region
}

output "api_url" {
  description = "Base URL of the HTTP API (the routes hang below it)."
  value       = local.api_url
}

output "portal_url" {
  description = "Base URL of the portal (its HTTP API's $default stage); the app client's callback is <portal_url>/auth/callback."
  value       = local.portal_url
}

output "issuer" {
  description = "OIDC issuer of the user pool; the JWT authorizer trusts it."
  value       = local.issuer
}

output "user_pool_id" {
  description = "Id of the Cognito user pool."
  value       = aws_cognito_user_pool.users.id
}

output "client_id" {
  description = "Id of the portal's app client (the authorizer's audience)."
  value       = aws_cognito_user_pool_client.portal.id
}

output "client_secret" {
  description = "Secret of the portal's app client."
  value       = aws_cognito_user_pool_client.portal.client_secret
  sensitive   = true
}

output "hosted_ui_url" {
  description = "Base URL of the Cognito Hosted UI (/oauth2/authorize, /login, /logout...)."
  value       = "https://${aws_cognito_user_pool_domain.hosted_ui.domain}.auth.${var.region}.amazoncognito.com"
}

output "table_name" {
  description = "Name of the DynamoDB table of users."
  value       = aws_dynamodb_table.users.name
}

output "sessions_table_name" {
  description = "Name of the portal's DynamoDB table of sessions."
  value       = aws_dynamodb_table.sessions.name
}

output "client_secret_parameter" {
  description = "Name of the SSM SecureString parameter holding the app client's secret (the portal's PORTAL_CLIENT_SECRET_PARAMETER)."
  value       = aws_ssm_parameter.client_secret.name
}

output "function_names" {
  description = "Lambda function name of each route-table function (the portal included)."
  value       = local.function_names
}
