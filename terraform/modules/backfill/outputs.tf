output "function_name" {
  description = "Name of the Cloud Function (and of its Cloud Run service)."
  value       = google_cloudfunctions2_function.backfill.name
}

output "function_url" {
  description = "The URL the CLI (BACKFILL_URL) and the tasks call; also the audience of their identity tokens."
  value       = local.function_url
}

output "queue_id" {
  description = "The Cloud Tasks queue of chunk tasks (projects/P/locations/L/queues/Q)."
  value       = google_cloud_tasks_queue.chunks.id
}

output "runtime_service_account_email" {
  description = "The function's identity: reads the sources, writes the destinations, keeps state, enqueues, publishes replays."
  value       = google_service_account.runtime.email
}

output "tasks_service_account_email" {
  description = "The identity in the chunk tasks' OIDC tokens: may only invoke the function."
  value       = google_service_account.tasks.email
}

output "environment" {
  description = "The function's environment variables: the settings (shared/ingestion/settings.py), nothing else."
  value       = local.environment
}
