# The queue of chunk tasks. Its limits are the run's speed and its safety: at most
# max_concurrent_dispatches chunks decode at once, new ones start at most
# max_dispatches_per_second, and a failed task is retried with exponential backoff. A task's
# name derives from its chunk (adapters/cloud_tasks.py), so a chunk is enqueued once per round;
# its dispatch deadline and OIDC token (of the tasks account) are set per task by the function.

resource "google_cloud_tasks_queue" "chunks" {
  project  = var.project_id
  name     = local.queue_name
  location = var.region

  rate_limits {
    max_dispatches_per_second = var.queue.max_dispatches_per_second
    max_concurrent_dispatches = var.queue.max_concurrent_dispatches
  }

  retry_config {
    max_attempts  = var.queue.max_attempts
    min_backoff   = var.queue.min_backoff
    max_backoff   = var.queue.max_backoff
    max_doublings = var.queue.max_doublings
  }

  # Every attempt's outcome in Cloud Logging: a failing chunk is found by its task name.
  stackdriver_logging_config {
    sampling_ratio = 1.0
  }

  depends_on = [google_project_service.enabled]
}
