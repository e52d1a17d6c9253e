# The decoder Cloud Function (2nd gen) and everything around it, one file per concern:
#   pubsub.tf     raw, decoded, error, debug and dead-letter topics; the push trigger subscription
#   function.tf   the function and its source object
#   iam.tf        service accounts and every role binding
#   firestore.tf  the dedup TTL policy (and optionally the database)
#   storage.tf    the resources bucket
# locals.tf holds the names and the function environment, outputs.tf what callers wire onwards.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Google-managed Pub/Sub service agent: pushes to the function, dead-letters, mints OIDC tokens.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  apis = toset(concat(
    [
      "artifactregistry.googleapis.com", # the built function image
      "cloudbuild.googleapis.com",       # builds the function from source
      "cloudfunctions.googleapis.com",
      "cloudresourcemanager.googleapis.com", # data.google_project
      "iam.googleapis.com",
      "pubsub.googleapis.com",
      "run.googleapis.com", # 2nd gen functions are Cloud Run services
      "storage.googleapis.com",
    ],
    local.use_firestore ? ["firestore.googleapis.com"] : [],
    local.push ? [] : ["eventarc.googleapis.com"],
  ))
}

resource "google_project_service" "enabled" {
  for_each = var.enable_apis ? local.apis : toset([])

  project = var.project_id
  service = each.value

  # Other workloads in the project may use these APIs too.
  disable_on_destroy = false
}
