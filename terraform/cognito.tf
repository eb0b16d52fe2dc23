# The user pool, its Hosted UI and the portal's app client.

resource "aws_cognito_user_pool" "users" {
  name = var.name

  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"

  username_configuration {
    case_sensitive = false
  }

  password_policy {
    minimum_length                   = var.password_minimum_length
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 7
  }

  verification_message_template {
    default_email_option  = "CONFIRM_WITH_LINK"
    email_subject_by_link = "Verify your email address"
    email_message_by_link = "Please click the link to verify your email address: {##Verify Email##}"
  }

  email_configuration {
    email_sending_account = "COGNITO_DEFAULT"
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  # A changed email address takes effect only once verified, so an account
  # can never be recovered through an address nobody has proved to own.
  user_attribute_update_settings {
    attributes_require_verification_before_update = ["email"]
  }

  admin_create_user_config {
    allow_admin_create_user_only = false
  }
}

resource "aws_cognito_user_pool_domain" "hosted_ui" {
  domain       = var.cognito_domain_prefix
  user_pool_id = aws_cognito_user_pool.users.id
}

# The portal is a server-side app: a confidential client using the
# authorization code flow (with PKCE from the portal) and nothing else.
# Its refresh tokens also bound the sessions the table's TTL deletes unseen
# (without revoking them): refresh_token_validity_days.
resource "aws_cognito_user_pool_client" "portal" {
  name         = "${var.name}-portal"
  user_pool_id = aws_cognito_user_pool.users.id

  generate_secret                      = true
  supported_identity_providers         = ["COGNITO"]
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  # The deployed portal's callback and home page, then the extra URLs of
  # a portal run elsewhere (empty by default).
  callback_urls = distinct(concat(["${local.portal_url}/auth/callback"], var.callback_urls))
  logout_urls   = distinct(concat(["${local.portal_url}/"], var.logout_urls))

  # The Hosted UI signs users in with SRP; the portal only refreshes.
  explicit_auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]

  id_token_validity      = var.id_token_validity_minutes
  access_token_validity  = var.access_token_validity_minutes
  refresh_token_validity = var.refresh_token_validity_days
  token_validity_units {
    id_token      = "minutes"
    access_token  = "minutes"
    refresh_token = "days"
  }

  enable_token_revocation       = true
  prevent_user_existence_errors = "ENABLED"
}

resource "aws_cognito_user_group" "admins" {
  name         = "admins" # api.AdminGroup
  user_pool_id = aws_cognito_user_pool.users.id
  description  = "May list every user (GET /users) and administer accounts in the portal."
}
