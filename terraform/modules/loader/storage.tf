# The buckets each stream writes, and the registry's metadata bucket.

resource "google_storage_bucket" "stream" {
  for_each = local.stream_buckets

  project  = var.project_id
  name     = each.value
  location = var.buckets.location != null ? var.buckets.location : var.region
  labels   = var.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.buckets.force_destroy

  # Raw messages keep the client IP address: they are kept only as long as a backfill may need
  # them.
  dynamic "lifecycle_rule" {
    for_each = each.key == "raw" && var.buckets.raw_retention_days > 0 ? [var.buckets.raw_retention_days] : []

    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

# sources.json and every schema.json. Every write is a compare-and-swap on the generation;
# versioning keeps the replaced generations, so any change can be rolled back.
resource "google_storage_bucket" "metadata" {
  project  = var.project_id
  name     = local.bucket_names.metadata
  location = var.buckets.location != null ? var.buckets.location : var.region
  labels   = var.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.buckets.force_destroy

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      with_state         = "ARCHIVED"
      num_newer_versions = var.buckets.noncurrent_versions_kept
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}
