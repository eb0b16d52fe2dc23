# One role per function, granted only what that function does: one DynamoDB
# action on the table, and log writes to its own log group.

locals {
  # With var.account_id the ARNs are spelled out, so the plan shows every
  # policy in full; without it they come from the resources (known after
  # apply). Both name the same resources.
  table_arn = (var.account_id == null ? aws_dynamodb_table.users.arn :
  "arn:${local.partition}:dynamodb:${var.region}:${var.account_id}:table/${var.table_name}")

  function_log_group_arns = {
    for fn, _ in local.functions : fn => (var.account_id == null ? aws_cloudwatch_log_group.function[fn].arn :
    "arn:${local.partition}:logs:${var.region}:${var.account_id}:log-group:/aws/lambda/${local.function_names[fn]}")
  }
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
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Table"
        Effect   = "Allow"
        Action   = each.value.dynamodb_actions
        Resource = local.table_arn
      },
      {
        # The log group exists already (Terraform creates it), so
        # logs:CreateLogGroup is not needed.
        Sid      = "OwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${local.function_log_group_arns[each.key]}:log-stream:*"
      },
    ]
  })
}
