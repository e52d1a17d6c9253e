terraform {
  required_version = ">= 1.3"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.40, < 8"
    }
  }

  # State beside the environments' (docs/deploy.md):
  #   terraform init -backend-config="bucket=<state bucket>" -backend-config="prefix=ingestion/ci"
  backend "gcs" {}
}
