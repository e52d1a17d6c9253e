terraform {
  required_version = ">= 1.3"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.40, < 8"
    }
  }

  # State in a GCS bucket, one prefix per environment (backend.hcl in this directory). The
  # bucket is created once by hand and versioned (docs/deploy.md, "From an empty project"):
  #   terraform init -backend-config=backend.hcl -backend-config="bucket=<project>-tfstate"
  backend "gcs" {}
}
