output "raw_topic_id" {
  description = "Publish raw messages here."
  value       = module.decoder.raw_topic_id
}

output "decoded_topic_ids" {
  description = "Decoded messages by topic name."
  value       = module.decoder.decoded_topic_ids
}

output "error_topic_id" {
  description = "Rejected messages and duplicates."
  value       = module.decoder.error_topic_id
}

output "dead_letter_subscription_id" {
  description = "Undeliverable raw messages, to inspect and replay."
  value       = module.decoder.dead_letter_subscription_id
}

output "function_uri" {
  description = "The function's URL."
  value       = module.decoder.function_uri
}

output "service_account_email" {
  description = "The function's runtime service account."
  value       = module.decoder.service_account_email
}

output "resources_bucket" {
  description = "Upload schema tarballs and GeoIP databases here."
  value       = module.decoder.resources_bucket
}

output "debug_topic_id" {
  description = "Messages carrying x_debug_id."
  value       = module.decoder.debug_topic_id
}
