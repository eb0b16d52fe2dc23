variable "region" {
  description = "AWS region of the whole stack."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must look like eu-west-1 or us-gov-west-1."
  }
}

variable "account_id" {
  description = "AWS account to deploy to (12 digits), optional. When set, Terraform refuses any other account, and IAM policies name their ARNs in full at plan time so the plan shows exactly what is granted."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", var.account_id))
    error_message = "The account id must be 12 digits."
  }
}

variable "name" {
  description = "Prefix of every named resource (functions, roles, API, user pool, log groups), so that several stacks can share an account."
  type        = string
  default     = "usersvc"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name))
    error_message = "The name must be 2 to 20 characters: lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource, next to Project and ManagedBy."
  type        = map(string)
  default     = {}
}

variable "table_name" {
  description = "Name of the DynamoDB table of users (the seed's AppDummy)."
  type        = string
  default     = "AppDummy"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "A DynamoDB table name is 3 to 255 characters: letters, digits, '_', '-' and '.'."
  }
}

variable "deletion_protection" {
  description = "Protect the user pool and the table from deletion. Turn it off (in a development tfvars file) to let `portal destroy` remove them."
  type        = bool
  default     = true
}

variable "lambda_dist_dir" {
  description = "Directory holding <function>.zip for every function (`make lambdas` output). Default: dist/lambdas at the repository root."
  type        = string
  default     = null
}

variable "lambda_memory_mb" {
  description = "Memory of each function, in MB."
  type        = number
  default     = 128

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "Lambda memory is a whole number of MB from 128 to 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of each function, in seconds. API Gateway gives up after 30 seconds, so a longer timeout would only waste invocations."
  type        = number
  default     = 10

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 30 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "The timeout is a whole number of seconds from 1 to 30."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group (both APIs' access logs and each function's logs), in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "CloudWatch Logs accepts only 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days."
  }
}

variable "stage_name" {
  description = "Name of the API stage. \"$default\" serves the routes at the root of the API URL, as the local gateway does."
  type        = string
  default     = "$default"

  validation {
    condition     = var.stage_name == "$default" || can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "The stage name is \"$default\" or 1 to 128 letters, digits, '_' and '-'."
  }
}

variable "throttling_burst_limit" {
  description = "Default route throttling of each API stage (the user API's and the portal's): burst of requests."
  type        = number
  default     = 50

  validation {
    condition     = var.throttling_burst_limit >= 0 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "The burst limit is a whole number, 0 or more."
  }
}

variable "throttling_rate_limit" {
  description = "Default route throttling of each API stage (the user API's and the portal's): steady requests per second."
  type        = number
  default     = 100

  validation {
    condition     = var.throttling_rate_limit >= 0
    error_message = "The rate limit is 0 or more requests per second."
  }
}

variable "cognito_domain_prefix" {
  description = "Prefix of the Cognito Hosted UI domain: https://<prefix>.auth.<region>.amazoncognito.com. Unique across all AWS accounts in the region."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.cognito_domain_prefix)) && !can(regex("aws|amazon|cognito", var.cognito_domain_prefix))
    error_message = "The domain prefix is 1 to 63 lower-case letters, digits and hyphens (not at either end), and may not contain aws, amazon or cognito."
  }
}

variable "callback_urls" {
  description = "Extra URLs to which Cognito may send the authorization code, besides the deployed portal's own <portal_url>/auth/callback (always registered): a portal run elsewhere, such as `portal serve` on http://localhost:8080/auth/callback. HTTPS, or plain HTTP on localhost only (Cognito refuses http://127.0.0.1 and any other http:// host)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.callback_urls : can(regex("^(https://[^/\\s#]+|http://localhost(:[0-9]{1,5})?)(/[^\\s#]*)?$", u))])
    error_message = "Each callback URL must be https://..., or http://localhost[:port][/path] (Cognito allows plain http on localhost only, not on 127.0.0.1), with no fragment."
  }
}

variable "logout_urls" {
  description = "Extra URLs to which Cognito may send the browser after sign-out, besides the deployed portal's home page <portal_url>/ (always registered). HTTPS, or plain HTTP on localhost only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.logout_urls : can(regex("^(https://[^/\\s#]+|http://localhost(:[0-9]{1,5})?)(/[^\\s#]*)?$", u))])
    error_message = "Each logout URL must be https://..., or http://localhost[:port][/path] (Cognito allows plain http on localhost only, not on 127.0.0.1), with no fragment."
  }
}

variable "id_token_validity_minutes" {
  description = "Lifetime of ID tokens, in minutes."
  type        = number
  default     = 60

  validation {
    condition     = var.id_token_validity_minutes >= 5 && var.id_token_validity_minutes <= 1440
    error_message = "Cognito accepts 5 minutes to 1 day."
  }
}

variable "access_token_validity_minutes" {
  description = "Lifetime of access tokens, in minutes."
  type        = number
  default     = 60

  validation {
    condition     = var.access_token_validity_minutes >= 5 && var.access_token_validity_minutes <= 1440
    error_message = "Cognito accepts 5 minutes to 1 day."
  }
}

variable "refresh_token_validity_days" {
  description = "Lifetime of refresh tokens, in days."
  type        = number
  default     = 30

  validation {
    condition     = var.refresh_token_validity_days >= 1 && var.refresh_token_validity_days <= 3650
    error_message = "Cognito accepts 1 to 3650 days."
  }
}

variable "password_minimum_length" {
  description = "Minimum password length of the user pool."
  type        = number
  default     = 12

  validation {
    condition     = var.password_minimum_length >= 8 && var.password_minimum_length <= 99
    error_message = "Cognito accepts a minimum length from 8 to 99."
  }
}

variable "bucket_name" {
  description = "Name of the S3 bucket of function packages. Default: a unique name starting with <name>-lambdas-."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "An S3 bucket name is 3 to 63 lower-case letters, digits, '.' and '-'."
  }
}

variable "bucket_force_destroy" {
  description = "Let `terraform destroy` delete the package bucket with its old object versions. The bucket holds only build outputs that `make lambdas` recreates."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = <<-EOT
    ARN of a customer managed KMS key (a key ARN, not an alias: IAM policies match key ARNs only), optional. When set, it encrypts the package bucket, both tables, every log group and the client secret's parameter, and each function's role may use it through DynamoDB (and SSM for the portal). Its key policy must let CloudWatch Logs use it (see terraform/README.md). Without it, the AWS managed keys (aws/dynamodb, aws/ssm), S3's AES256 and CloudWatch Logs' own encryption are used.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (not an alias)."
  }
}
