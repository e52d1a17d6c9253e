# One service account per role, each with only what that role needs:
#   runtime  the function's identity: lists and reads the source buckets, writes (creates and
#            overwrites its own objects in) the destination buckets, reads the registry and the
#            decoder's resources, keeps run state in Firestore, enqueues chunk tasks on its queue
#            (as the tasks account), and publishes replays to the decoded and error topics.
#   tasks    the identity in the chunk tasks' OIDC tokens: may only invoke the function.
# The named invokers (var.invokers) may only invoke the function. Nobody else can: the function
# has no public member. The Cloud Tasks service agent mints the tasks' tokens with the role
# Google grants it when the API is enabled (projects from after March 2019).

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.name}-runtime"
  display_name = "${var.name} backfill function (runtime)"

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "tasks" {
  project      = var.project_id
  account_id   = local.tasks_account_id
  display_name = "${var.name} backfill chunk tasks (invoker)"

  depends_on = [google_project_service.enabled]
}

# --- runtime: Cloud Storage ----------------------------------------------------------------------

resource "google_storage_bucket_iam_member" "runtime_reads_sources" {
  for_each = local.read_only_buckets

  bucket = each.value
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# A chunk's outputs are named after the run and chunk; a retried chunk overwrites them, which
# Cloud Storage allows with create + delete. No read, list or IAM change: narrower than
# roles/storage.objectUser, which would also let the function read the data it writes.
resource "google_project_iam_custom_role" "object_writer" {
  project     = var.project_id
  role_id     = "${replace(var.name, "-", "_")}_object_writer"
  title       = "${var.name} backfill: create and overwrite objects"
  description = "Create objects and overwrite (delete) them: the backfill's outputs."
  permissions = ["storage.objects.create", "storage.objects.delete"]
}

resource "google_storage_bucket_iam_member" "runtime_writes_destinations" {
  for_each = toset(var.buckets.destinations)

  bucket = each.value
  role   = google_project_iam_custom_role.object_writer.id
  member = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_storage_bucket_iam_member" "runtime_reads_registry" {
  bucket = var.buckets.metadata
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_storage_bucket_iam_member" "runtime_reads_resources" {
  count = var.resources.bucket != null ? 1 : 0

  bucket = var.resources.bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# --- runtime: state, fan-out, replay ---------------------------------------------------------------

# Firestore roles exist only at project level (an IAM condition on resource.name can narrow it to
# one database; see docs/deploy.md).
resource "google_project_iam_member" "runtime_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_cloud_tasks_queue_iam_member" "runtime_enqueues" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_tasks_queue.chunks.name
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.runtime.email}"
}

# A task carrying an OIDC token of the tasks account may only be created by who can act as it.
resource "google_service_account_iam_member" "runtime_acts_as_tasks" {
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_pubsub_topic_iam_member" "runtime_publishes_replays" {
  for_each = setunion(local.decoded_topic_names, [var.topics.error])

  project = var.project_id
  topic   = each.value
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

# --- who may invoke the function -----------------------------------------------------------------

# A 2nd gen function is served by the Cloud Run service of the same name.
resource "google_cloud_run_service_iam_member" "tasks_invoke" {
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.backfill.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.tasks.email}"
}

locals {
  # Operators and workflows named by the caller, keyed by member.
  invokers = { for member in var.invokers : member => member }
}

resource "google_cloud_run_service_iam_member" "invokers" {
  for_each = local.invokers

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.backfill.name
  role     = "roles/run.invoker"
  member   = local.invokers[each.key]
}
