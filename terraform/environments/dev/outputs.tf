# The pipeline module's outputs (docs/deploy.md and cloudbuild.yaml read resources_bucket).

output "raw_topic_id" {
  description = "Publish raw messages here."
  value       = module.pipeline.raw_topic_id
}

output "resources_bucket" {
  description = "Schema tarball, GeoIP databases and the function sources."
  value       = module.pipeline.resources_bucket
}

output "buckets" {
  description = "Where each loader stream writes."
  value       = module.pipeline.buckets
}

output "metadata_location" {
  description = "The registry bucket (METADATA_LOCATION)."
  value       = module.pipeline.metadata_location
}

output "dead_letter_subscriptions" {
  description = "Undeliverable messages, to inspect and replay (docs/operations.md)."
  value       = module.pipeline.dead_letter_subscriptions
}

output "dashboard_id" {
  description = "The pipeline dashboard."
  value       = module.pipeline.dashboard_id
}
