# Topics, the push trigger on the raw topic, and the dead-letter path.

resource "google_pubsub_topic" "raw" {
  count = var.topics.create_raw ? 1 : 0

  project = var.project_id
  name    = var.topics.raw
  labels  = var.labels

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "decoded" {
  for_each = local.decoded_topic_names

  project = var.project_id
  name    = each.value
  labels  = var.labels

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "error" {
  project = var.project_id
  name    = var.topics.error
  labels  = var.labels

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "debug" {
  count = var.topics.debug != "" ? 1 : 0

  project = var.project_id
  name    = var.topics.debug
  labels  = var.labels

  depends_on = [google_project_service.enabled]
}

# Raw messages that failed max_delivery_attempts times (the function raised or timed out: an
# output or Firestore was unavailable). Deterministic failures never land here: the decoder
# publishes them to the error topic and acknowledges.
resource "google_pubsub_topic" "dead_letter" {
  project = var.project_id
  name    = local.dead_letter_topic_name
  labels  = var.labels

  depends_on = [google_project_service.enabled]
}

# Messages published to a topic without subscriptions are lost, so the dead-letter topic always
# has one; pull from it to inspect, and republish to the raw topic to replay (docs/deploy.md).
resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = local.dead_letter_subscription
  topic   = google_pubsub_topic.dead_letter.id
  labels  = var.labels

  ack_deadline_seconds       = 60
  message_retention_duration = var.delivery.dead_letter_retention

  # An idle dead-letter subscription is the healthy state; never let it expire.
  expiration_policy {
    ttl = ""
  }
}

# The direct Pub/Sub trigger: Pub/Sub pushes each raw message to the function's run.app URL with
# an OIDC token of the invoker account. A non-2xx answer (the function raised) is a NACK and is
# retried with exponential backoff; after max_delivery_attempts the message goes to the
# dead-letter topic. An Eventarc trigger cannot have a dead-letter policy set by Terraform (its
# subscription is output-only, hashicorp/terraform-provider-google#17697), hence this subscription.
resource "google_pubsub_subscription" "trigger" {
  count = local.push ? 1 : 0

  project = var.project_id
  name    = local.trigger_subscription
  topic   = local.raw_topic_id
  labels  = var.labels

  ack_deadline_seconds       = local.ack_deadline_seconds
  message_retention_duration = var.delivery.message_retention_duration

  push_config {
    push_endpoint = google_cloudfunctions2_function.decoder.service_config[0].uri

    # The audience defaults to the push endpoint, which is what Cloud Run checks.
    oidc_token {
      service_account_email = google_service_account.invoker.email
    }
  }

  retry_policy {
    minimum_backoff = var.delivery.minimum_backoff
    maximum_backoff = var.delivery.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.delivery.max_delivery_attempts
  }

  # The default policy deletes a subscription idle for 31 days; a quiet raw topic must not
  # silently lose its decoder.
  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_pubsub_topic.raw,
    google_cloud_run_service_iam_member.invoker,
    google_service_account_iam_member.pubsub_mints_invoker_tokens,
    google_pubsub_topic_iam_member.dead_letter_publisher,
  ]
}
