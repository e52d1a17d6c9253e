# The live loader: one Cloud Function (2nd gen) per stream (decoded, errors, optional raw), each
# writing its messages into its source's registered layout. One file per concern:
#   pubsub.tf     push subscriptions on the stream topics, dead-letter topics
#   function.tf   the functions (one source zip, entry point `load`)
#   iam.tf        one runtime account per stream, one invoker, the Pub/Sub service agent's grants
#   storage.tf    data, errors and raw buckets; the versioned metadata (registry) bucket
# locals.tf holds the names and the function environments, outputs.tf what callers wire onwards.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "enabled" {
  for_each = var.enable_apis ? local.apis : toset([])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
