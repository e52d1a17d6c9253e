# Resources bucket: schema tarball, GeoIP databases, city filter (and the function source when the
# module uploads it). Versioned so that an upload is a new generation, which the running decoder
# notices within RESOURCE_RECHECK_SECONDS, and so that the previous generation stays for rollback.

resource "google_storage_bucket" "resources" {
  project  = var.project_id
  name     = local.resources_bucket
  location = var.resources.location != null ? var.resources.location : var.region
  labels   = var.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.resources.force_destroy

  versioning {
    enabled = true
  }

  # Keep the newest few noncurrent generations for rollback, delete older ones ...
  lifecycle_rule {
    condition {
      with_state         = "ARCHIVED"
      num_newer_versions = var.resources.noncurrent_versions_kept
    }
    action {
      type = "Delete"
    }
  }

  # ... and any noncurrent generation after a while: a deleted object (such as a replaced
  # function-source zip) has no newer version, so the rule above never removes it.
  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = var.resources.noncurrent_days_kept
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}
