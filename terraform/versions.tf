terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State stays local by default, as in the seed. For a shared state, add an
  # empty backend block here (for example `backend "s3" {}`) and pass its
  # settings with `terraform init -backend-config=...`.
}

provider "aws" {
  region = var.region

  # When the account is named, Terraform refuses to touch any other one: a
  # guard against deploying with the wrong profile.
  allowed_account_ids = var.account_id == null ? null : [var.account_id]

  default_tags {
    tags = merge({
      Project   = var.name
      ManagedBy = "terraform"
    }, var.tags)
  }
}
