locals {
  issuer = "https://${aws_cognito_user_pool.users.endpoint}"
}

output "region" {
  description = "AWS region of the stack."
  value       = var.region
}

output "api_url" {
  description = "Base URL of the HTTP API (the routes hang below it)."
  value       = trimsuffix(aws_apigatewayv2_stage.api.invoke_url, "/")
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

output "function_names" {
  description = "Lambda function name of each route-table function."
  value       = local.function_names
}
