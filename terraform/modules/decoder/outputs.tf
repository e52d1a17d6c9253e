output "raw_topic_id" {
  description = "The raw (input) topic."
  value       = var.topics.create_raw ? google_pubsub_topic.raw[0].id : local.raw_topic_id
}

output "decoded_topic_ids" {
  description = "Decoded topics by name (one, or one per namespace/doctype with a templated DECODED_TOPIC)."
  value       = { for name, topic in google_pubsub_topic.decoded : name => topic.id }
}

output "error_topic_id" {
  description = "Topic of rejected messages and duplicates."
  value       = google_pubsub_topic.error.id
}

output "debug_topic_id" {
  description = "Debug topic, or null when none is configured."
  value       = var.topics.debug != "" ? google_pubsub_topic.debug[0].id : null
}

output "dead_letter_topic_id" {
  description = "Where raw messages go after max_delivery_attempts failed deliveries."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription_id" {
  description = "Pull subscription on the dead-letter topic, to inspect and replay."
  value       = google_pubsub_subscription.dead_letter.id
}

output "trigger_subscription_id" {
  description = "Push subscription feeding the function (null in eventarc mode)."
  value       = local.push ? google_pubsub_subscription.trigger[0].id : null
}

output "function_name" {
  description = "Name of the Cloud Function (and of its Cloud Run service)."
  value       = google_cloudfunctions2_function.decoder.name
}

output "function_uri" {
  description = "run.app URL of the function (the push endpoint)."
  value       = google_cloudfunctions2_function.decoder.service_config[0].uri
}

output "service_account_email" {
  description = "The function's runtime service account."
  value       = google_service_account.runtime.email
}

output "invoker_service_account_email" {
  description = "The account whose OIDC token Pub/Sub (or Eventarc) presents to the function."
  value       = google_service_account.invoker.email
}

output "resources_bucket" {
  description = "Bucket for the schema tarball and GeoIP databases (versioned)."
  value       = google_storage_bucket.resources.name
}

output "environment" {
  description = "The function's environment variables: the settings (shared/ingestion/settings.py) and THREADS."
  value       = local.function_environment
}
