# One role per function, granted only what that function does: its DynamoDB
# actions on its one table, log writes to its own log group, X-Ray trace
# writes; the portal also reads its one SSM parameter and calls the account
# screens' Cognito actions on the user pool. With a customer managed key,
# each role may also use that key, and only through the services above.

locals {
  # With var.account_id the ARNs are spelled out, so the plan shows every
  # policy in full; without it they come from the resources (known after
  # apply). Both name the same resources.
  table_arns = {
    users = (var.account_id == null ? aws_dynamodb_table.users.arn :
    "arn:${local.partition}:dynamodb:${var.region}:${var.account_id}:table/${var.table_name}")
    sessions = (var.account_id == null ? aws_dynamodb_table.sessions.arn :
    "arn:${local.partition}:dynamodb:${var.region}:${var.account_id}:table/${local.sessions_table_name}")
  }

  # The parameter's name starts with "/", which its ARN does not repeat.
  client_secret_parameter_arn = (var.account_id == null ? aws_ssm_parameter.client_secret.arn :
  "arn:${local.partition}:ssm:${var.region}:${var.account_id}:parameter${local.client_secret_parameter_name}")

  function_log_group_arns = {
    for fn, _ in local.functions : fn => (var.account_id == null ? aws_cloudwatch_log_group.function[fn].arn :
    "arn:${local.partition}:logs:${var.region}:${var.account_id}:log-group:/aws/lambda/${local.function_names[fn]}")
  }

  dynamodb_writes = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]

  # Every statement a function may get, filtered below by Sid: a list of
  # statements of different shapes (some have a Condition) cannot go
  # through a conditional expression.
  function_statements = {
    for fn, f in local.functions : fn => [
      for st in [
        {
          Sid      = "Table"
          Effect   = "Allow"
          Action   = f.dynamodb_actions
          Resource = local.table_arns[f.table]
        },
        {
          # A table encrypted with a customer managed key is usable only by
          # principals that may use the key through DynamoDB; readers need
          # to decrypt, writers to encrypt new data keys too.
          Sid    = "TableKey"
          Effect = "Allow"
          Action = concat(["kms:Decrypt", "kms:DescribeKey"],
          length(setintersection(f.dynamodb_actions, local.dynamodb_writes)) > 0 ? ["kms:Encrypt", "kms:GenerateDataKey"] : [])
          Resource  = var.kms_key_arn
          Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${var.region}.amazonaws.com" } }
        },
        {
          Sid      = "ClientSecret"
          Effect   = "Allow"
          Action   = ["ssm:GetParameter"]
          Resource = local.client_secret_parameter_arn
        },
        {
          # GetParameter WithDecryption of a SecureString under a customer
          # managed key (the AWS managed aws/ssm needs no grant).
          Sid       = "ClientSecretKey"
          Effect    = "Allow"
          Action    = ["kms:Decrypt"]
          Resource  = var.kms_key_arn
          Condition = { StringEquals = { "kms:ViaService" = "ssm.${var.region}.amazonaws.com" } }
        },
        {
          # The log group exists already (Terraform creates it), so
          # logs:CreateLogGroup is not needed.
          Sid      = "OwnLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${local.function_log_group_arns[fn]}:log-stream:*"
        },
        {
          # Active tracing. X-Ray's write actions support no resource-level
          # permissions: "*" is the only resource they accept.
          Sid      = "Tracing"
          Effect   = "Allow"
          Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
          Resource = "*"
        },
      ] : st
      if(!contains(["TableKey", "ClientSecretKey"], st.Sid) || var.kms_key_arn != null) &&
      (!contains(["ClientSecret", "ClientSecretKey"], st.Sid) || fn == "portal")
    ]
  }

  # The Cognito calls of the portal's account screens (issue 12): exactly
  # these, on the user pool only. The portal makes them with its own role,
  # after checking on every request that the signed-in user is in admins.
  portal_cognito_actions = [
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
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name        = local.function_names[each.key]
  description = "Execution role of the ${local.function_names[each.key]} function"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [merge(
      {
        Sid       = "LambdaAssumesRole"
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = "lambda.amazonaws.com" }
      },
      # Only Lambda acting for this account (confused-deputy guard), when
      # the account is known.
      var.account_id == null ? {} : { Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } } },
    )]
  })
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name = "least-privilege"
  role = aws_iam_role.function[each.key].id

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.function_statements[each.key]
  })
}

# A policy of its own, because the pool's ARN is known only after apply:
# the one above stays readable in full in a plan with var.account_id.
resource "aws_iam_role_policy" "portal_accounts" {
  name = "accounts"
  role = aws_iam_role.function["portal"].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "UserPoolAccounts"
      Effect   = "Allow"
      Action   = local.portal_cognito_actions
      Resource = aws_cognito_user_pool.users.arn
    }]
  })
}
