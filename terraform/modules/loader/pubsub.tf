# A push subscription per stream, each with its dead-letter topic (and an inspection
# subscription, since a topic without one drops what is published to it).

resource "google_pubsub_topic" "dead_letter" {
  for_each = local.streams

  project = var.project_id
  name    = "${var.name}-${each.key}-dead-letter"
  labels  = var.labels

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "dead_letter" {
  for_each = local.streams

  project = var.project_id
  name    = "${var.name}-${each.key}-dead-letter-inspect"
  topic   = google_pubsub_topic.dead_letter[each.key].id
  labels  = var.labels

  ack_deadline_seconds       = 60
  message_retention_duration = var.delivery.dead_letter_retention

  expiration_policy {
    ttl = ""
  }
}

# Pub/Sub pushes each message to its loader with an OIDC token of the invoker. The loader answers
# 2xx only once the object holding the message is written; 429/503 (full, write failed) are
# retried with backoff, and after max_delivery_attempts the message is dead-lettered.
resource "google_pubsub_subscription" "push" {
  for_each = local.streams

  project = var.project_id
  name    = "${var.name}-${each.key}-push"
  topic   = "projects/${var.project_id}/topics/${each.value.topic}"
  labels  = var.labels

  ack_deadline_seconds       = local.ack_deadline_seconds
  message_retention_duration = var.delivery.message_retention_duration

  push_config {
    push_endpoint = google_cloudfunctions2_function.loader[each.key].service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.invoker.email
    }
  }

  retry_policy {
    minimum_backoff = var.delivery.minimum_backoff
    maximum_backoff = var.delivery.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.key].id
    max_delivery_attempts = var.delivery.max_delivery_attempts
  }

  # A quiet stream must not silently lose its loader after 31 idle days.
  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_service_iam_member.invoker,
    google_service_account_iam_member.pubsub_mints_invoker_tokens,
    google_pubsub_topic_iam_member.dead_letter_publisher,
  ]
}
