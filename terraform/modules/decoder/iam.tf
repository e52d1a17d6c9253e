# Two service accounts with least privilege:
#   runtime  the function's identity: publish to its output topics, read/write the dedup documents,
#            read the resources bucket. Nothing else (it does not pull: Pub/Sub pushes to it).
#   invoker  the identity Pub/Sub (push) or Eventarc puts in the OIDC token: may only invoke it.
# and the grants the Pub/Sub service agent needs for push authentication and dead-lettering.

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.name}-runtime"
  display_name = "${var.name} decoder function (runtime)"

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "${var.name}-invoker"
  display_name = "${var.name} decoder function (push invoker)"

  depends_on = [google_project_service.enabled]
}

# --- runtime -------------------------------------------------------------------------------------

locals {
  # topic name => topic, for every topic the function publishes to.
  output_topics = merge(
    { for name, topic in google_pubsub_topic.decoded : name => topic.name },
    { (var.topics.error) = google_pubsub_topic.error.name },
    var.topics.debug != "" ? { (var.topics.debug) = google_pubsub_topic.debug[0].name } : {},
  )
}

resource "google_pubsub_topic_iam_member" "runtime_publisher" {
  for_each = local.output_topics

  project = var.project_id
  topic   = each.value
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

# Firestore roles exist only at project level (an IAM condition on resource.name can narrow it to
# one database; see docs/deploy.md).
resource "google_project_iam_member" "runtime_firestore" {
  count = local.use_firestore ? 1 : 0

  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_storage_bucket_iam_member" "runtime_reads_resources" {
  bucket = google_storage_bucket.resources.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# --- invoker -------------------------------------------------------------------------------------

# A 2nd gen function is served by the Cloud Run service of the same name.
resource "google_cloud_run_service_iam_member" "invoker" {
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.decoder.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

resource "google_project_iam_member" "invoker_receives_events" {
  count = local.push ? 0 : 1

  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.invoker.email}"
}

# --- Pub/Sub service agent -----------------------------------------------------------------------

# Mints the OIDC token of the invoker for each push (needed in projects created before
# 2021-04-08; harmless in newer ones).
resource "google_service_account_iam_member" "pubsub_mints_invoker_tokens" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# Dead-lettering publishes the message to the dead-letter topic ...
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

# ... and acknowledges it on the trigger subscription.
resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  count = local.push ? 1 : 0

  project      = var.project_id
  subscription = google_pubsub_subscription.trigger[0].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
