# One Lambda function per entry of local.functions (the user API's and the
# portal), each with its package in S3, its own log group and X-Ray active
# tracing.

locals {
  # Each function's environment: names and URLs only, never a secret. The
  # portal reads its app client's secret from the SSM parameter at cold
  # start. (No cycle: the app client needs the portal API's endpoint, the
  # function needs the client's id, and the API and its stage need nothing
  # of the function; only the portal's integration and route do.)
  function_environment = {
    for fn, f in local.functions : fn => (fn == "portal" ? {
      PORTAL_URL                     = local.portal_url
      PORTAL_ISSUER                  = local.issuer
      PORTAL_CLIENT_ID               = aws_cognito_user_pool_client.portal.id
      PORTAL_API_URL                 = local.api_url
      SESSIONS_TABLE                 = aws_dynamodb_table.sessions.name
      PORTAL_CLIENT_SECRET_PARAMETER = aws_ssm_parameter.client_secret.name
      } : {
      TABLE_NAME = aws_dynamodb_table.users.name
    })
  }
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_s3_object" "function" {
  for_each = local.functions

  bucket = aws_s3_bucket.packages.id
  key    = "lambdas/${each.key}.zip"
  source = "${local.dist_dir}/${each.key}.zip"
  # source_hash rather than etag: an object's ETag is its MD5 only for some
  # kinds of encryption, the local file's hash always is.
  source_hash = filemd5("${local.dist_dir}/${each.key}.zip")

  depends_on = [
    aws_s3_bucket_versioning.packages,
    aws_s3_bucket_server_side_encryption_configuration.packages,
  ]
}

resource "aws_lambda_function" "function" {
  for_each = local.functions

  function_name = local.function_names[each.key]
  description   = "Serves ${join(", ", local.function_routes[each.key])}"
  role          = aws_iam_role.function[each.key].arn

  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  memory_size   = var.lambda_memory_mb
  timeout       = var.lambda_timeout_seconds

  s3_bucket         = aws_s3_object.function[each.key].bucket
  s3_key            = aws_s3_object.function[each.key].key
  s3_object_version = aws_s3_object.function[each.key].version_id
  # From the local file: a rebuilt, changed binary redeploys the function,
  # an identical one (the builds are reproducible) does not.
  source_code_hash = filebase64sha256("${local.dist_dir}/${each.key}.zip")

  environment {
    variables = local.function_environment[each.key]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function[each.key].name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }

  # The role must be able to write logs before the first invocation.
  depends_on = [aws_iam_role_policy.function]
}
