# Least privilege:
#   runtime (one per stream)  creates objects in its own stream's bucket and reads the registry;
#                             nothing else: it cannot read, overwrite or delete data, nor write
#                             another stream's bucket (the raw bucket, with IPs, only its own).
#   invoker                   the identity in the push OIDC token: may only invoke the loaders.
# and the grants the Pub/Sub service agent needs for push authentication and dead-lettering.

resource "google_service_account" "runtime" {
  for_each = local.streams

  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = "${var.name} loader of ${each.key} (runtime)"

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "${var.name}-invoker"
  display_name = "${var.name} loader functions (push invoker)"

  depends_on = [google_project_service.enabled]
}

# Create only: objects are written once under unique names (ifGenerationMatch=0), never replaced.
resource "google_storage_bucket_iam_member" "runtime_creates_objects" {
  for_each = local.streams

  bucket = google_storage_bucket.stream[each.key].name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.runtime[each.key].email}"
}

resource "google_storage_bucket_iam_member" "runtime_reads_registry" {
  for_each = local.streams

  bucket = google_storage_bucket.metadata.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.runtime[each.key].email}"
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = local.streams

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.loader[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

resource "google_service_account_iam_member" "pubsub_mints_invoker_tokens" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.streams

  project = var.project_id
  topic   = google_pubsub_topic.dead_letter[each.key].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = local.streams

  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
