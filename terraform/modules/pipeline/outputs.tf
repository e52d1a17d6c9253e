output "raw_topic_id" {
  description = "Publish raw messages here."
  value       = module.decoder.raw_topic_id
}

output "resources_bucket" {
  description = "Schema tarball, GeoIP databases and the function sources."
  value       = module.decoder.resources_bucket
}

output "buckets" {
  description = "Where each loader stream writes."
  value       = module.loader.buckets
}

output "metadata_location" {
  description = "The registry bucket (METADATA_LOCATION)."
  value       = module.loader.metadata_location
}

output "dead_letter_subscriptions" {
  description = "Undeliverable messages, to inspect and replay (docs/operations.md)."
  value = merge(
    { decoder = module.decoder.dead_letter_subscription_id },
    module.loader.dead_letter_subscriptions,
  )
}

output "dashboard_id" {
  description = "The pipeline dashboard."
  value       = module.monitoring.dashboard_id
}
