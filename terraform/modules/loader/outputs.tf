output "functions" {
  description = "Loader function name by stream."
  value       = { for stream, function in google_cloudfunctions2_function.loader : stream => function.name }
}

output "buckets" {
  description = "Bucket each stream writes, by stream; the registry's writer entries must name them."
  value       = { for stream, bucket in google_storage_bucket.stream : stream => bucket.name }
}

output "metadata_location" {
  description = "METADATA_LOCATION: the registry bucket (gs://...), for `ingestion sources --metadata`."
  value       = "gs://${google_storage_bucket.metadata.name}"
}

output "push_subscriptions" {
  description = "Push subscription by stream."
  value       = { for stream, subscription in google_pubsub_subscription.push : stream => subscription.id }
}

output "dead_letter_subscriptions" {
  description = "Where undeliverable messages wait for inspection, by stream."
  value       = { for stream, subscription in google_pubsub_subscription.dead_letter : stream => subscription.id }
}

output "environments" {
  description = "The environment each loader function runs with, by stream."
  value       = local.environments
}

output "runtime_service_accounts" {
  description = "Runtime service account email by stream."
  value       = { for stream, account in google_service_account.runtime : stream => account.email }
}
