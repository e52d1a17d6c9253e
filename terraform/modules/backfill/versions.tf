terraform {
  # optional() attribute defaults and startswith() need 1.3.
  required_version = ">= 1.3"

  required_providers {
    google = {
      source = "hashicorp/google"
      # build_config.service_account needs 5.x.
      version = ">= 5.40, < 8"
    }
  }
}
