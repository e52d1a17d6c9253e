terraform {
  required_version = ">= 1.3"

  required_providers {
    google = {
      source = "hashicorp/google"
      # condition_prometheus_query_language in alert policies needs 5.x.
      version = ">= 5.40, < 8"
    }
  }
}
