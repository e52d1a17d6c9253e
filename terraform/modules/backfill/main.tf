# The backfill Cloud Function (2nd gen): decodes a window of the raw archive in chunks fanned out
# through a Cloud Tasks queue. One file per concern:
#   function.tf   the function (one HTTP function: control requests and chunk tasks)
#   tasks.tf      the Cloud Tasks queue of chunk tasks (rate, concurrency, retries)
#   iam.tf        one service account per role and every role binding
#   firestore.tf  the TTL policy of the runs' dedup marks
# locals.tf holds the names and the function environment, outputs.tf what callers wire onwards.

locals {
  apis = toset([
    "artifactregistry.googleapis.com", # the built function image
    "cloudbuild.googleapis.com",       # builds the function from source
    "cloudfunctions.googleapis.com",
    "cloudtasks.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com", # replays to the decoded and error topics
    "run.googleapis.com",    # 2nd gen functions are Cloud Run services
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "enabled" {
  for_each = var.enable_apis ? local.apis : toset([])

  project = var.project_id
  service = each.value

  # Other workloads in the project may use these APIs too.
  disable_on_destroy = false
}
