# Development stack. Copy and adjust per environment:
#   terraform plan -var-file env/dev.tfvars   (in terraform/, after `make lambdas`)
#   portal deploy -var-file terraform/env/dev.tfvars

region = "eu-west-1"
name   = "usersvc-dev"

# Hosted UI domains are global per region: pick your own prefix.
cognito_domain_prefix = "usersvc-dev-change-me"

# Uncomment to pin the account (Terraform then refuses any other, and the
# plan shows IAM policies in full).
# account_id = "123456789012"

# Extra URLs for a portal run on this machine (`portal serve` against the
# stack); the deployed portal's own URLs are always registered.
callback_urls = ["http://localhost:8080/auth/callback"]
logout_urls   = ["http://localhost:8080/"]

# Uncomment to encrypt the bucket, both tables, the log groups and the
# client secret with your own KMS key (see terraform/README.md for the key
# policy it needs).
# kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"

# A development stack must be easy to throw away.
deletion_protection = false

log_retention_days = 30
