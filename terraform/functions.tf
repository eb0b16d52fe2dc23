# One Lambda function per entry of local.functions, each with its package in
# S3 and its own log group.

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
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
  description   = "Serves ${join(", ", [for key, r in local.routes : key if r.function == each.key])}"
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
    variables = {
      TABLE_NAME = aws_dynamodb_table.users.name
    }
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
