terraform {
  # optional() attribute defaults and startswith() need 1.3.
  required_version = ">= 1.3"

  required_providers {
    google = {
      source = "hashicorp/google"
      # build_config.service_account and google_firestore_database.deletion_policy need 5.x.
      version = ">= 5.40, < 8"
    }
  }
}
