# Names and the function environment, derived from the variables alone (no resource attributes),
# so tests/terraform can evaluate this file with a provider-less Terraform and feed the
# environment to ingestion.settings.BackfillSettings.

locals {
  queue_name = "${var.name}-chunks"
  queue_id   = "projects/${var.project_id}/locations/${var.region}/queues/${local.queue_name}"
  # The account in the tasks' OIDC tokens (iam.tf creates it under this id).
  tasks_account_id    = "${var.name}-tasks"
  tasks_account_email = "${local.tasks_account_id}@${var.project_id}.iam.gserviceaccount.com"
  # The function's cloudfunctions.net URL is known before it exists (the run.app one is not):
  # the tasks' target and the audience of their tokens.
  function_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.name}"

  # Every bucket a request may name: read the sources, write the destinations.
  allowed_buckets = distinct(concat(var.buckets.sources, var.buckets.destinations))
  # Sources that are not destinations as well (those are granted read and write once).
  read_only_buckets = setsubtract(var.buckets.sources, var.buckets.destinations)

  # A templated DECODED_TOPIC publishes to topics named per document; a plain one to itself.
  decoded_topic_names = length(var.topics.decoded_topics) > 0 ? toset(var.topics.decoded_topics) : toset([var.topics.decoded])

  # Object name in the resources bucket => gs:// location; "" stays "" (not configured, or the
  # schemas bundled with the function).
  resource_locations = {
    for setting, object_name in {
      schemas           = var.resources.schemas
      geo_city_database = var.resources.geo_city_database
      geo_isp_database  = var.resources.geo_isp_database
      geo_city_filter   = var.resources.geo_city_filter
      scrubber_rules    = var.resources.scrubber_rules
    } : setting => object_name == "" ? "" : "gs://${var.resources.bucket}/${object_name}"
  }

  # Every variable BackfillSettings reads, set explicitly (none left to a code default).
  environment = {
    GOOGLE_CLOUD_PROJECT               = var.project_id
    SCHEMAS_LOCATION                   = local.resource_locations.schemas
    GEO_CITY_DATABASE                  = local.resource_locations.geo_city_database
    GEO_ISP_DATABASE                   = local.resource_locations.geo_isp_database
    GEO_CITY_FILTER                    = local.resource_locations.geo_city_filter
    SCRUBBER_RULES                     = local.resource_locations.scrubber_rules
    RESOURCE_RECHECK_SECONDS           = tostring(var.resources.recheck_seconds)
    VALIDATION_ENGINE                  = var.backfill.validation_engine
    MAX_PAYLOAD_BYTES                  = tostring(var.backfill.max_payload_bytes)
    OUTPUT_COMPRESSION                 = var.backfill.output_compression
    ERROR_COMPRESSION                  = var.backfill.error_compression
    LOG_LEVEL                          = var.backfill.log_level
    COUNTERS_INTERVAL_SECONDS          = tostring(var.backfill.counters_interval_seconds)
    DECODED_TOPIC                      = var.topics.decoded
    ERROR_TOPIC                        = var.topics.error
    INCLUDE_STACK_TRACE                = tostring(var.backfill.include_stack_trace)
    JOB_NAME                           = var.name
    METADATA_LOCATION                  = "gs://${var.buckets.metadata}"
    BACKFILL_ALLOWED_BUCKETS           = join(",", local.allowed_buckets)
    BACKFILL_MAX_CHUNKS                = tostring(var.backfill.max_chunks)
    BACKFILL_MAX_BYTES                 = format("%d", var.backfill.max_bytes)
    BACKFILL_COLLECTION                = var.firestore.collection
    BACKFILL_DATABASE                  = var.firestore.database
    BACKFILL_DISPATCH                  = "cloud_tasks"
    BACKFILL_QUEUE                     = local.queue_id
    BACKFILL_FUNCTION_URL              = local.function_url
    BACKFILL_TASKS_SERVICE_ACCOUNT     = local.tasks_account_email
    BACKFILL_DISPATCH_TOPIC            = ""
    BACKFILL_DISPATCH_DEADLINE_SECONDS = tostring(var.queue.dispatch_deadline_seconds)
    BACKFILL_TIME_BUDGET_SECONDS       = tostring(var.backfill.time_budget_seconds)
    BACKFILL_MAX_ATTEMPTS              = tostring(var.backfill.max_attempts)
    BACKFILL_COMMIT_BYTES              = format("%d", var.backfill.commit_bytes)
    BACKFILL_MARK_DAYS                 = tostring(var.backfill.mark_days)
    CLOUD_TASKS_EMULATOR_HOST          = ""
  }

  # Settings that must agree across variables (a precondition of the function refuses the plan
  # with these messages; Terraform 1.3 validations cannot read two variables).
  setting_conflicts = compact([
    var.backfill.time_budget_seconds < var.queue.dispatch_deadline_seconds ? "" : "backfill.time_budget_seconds must be below queue.dispatch_deadline_seconds (a chunk yields before Cloud Tasks gives up on it)",
    var.service.timeout_seconds >= var.queue.dispatch_deadline_seconds ? "" : "service.timeout_seconds must be at least queue.dispatch_deadline_seconds",
    var.service.max_instances > var.queue.max_concurrent_dispatches ? "" : "service.max_instances must exceed queue.max_concurrent_dispatches (one chunk per instance, and room for status requests)",
    var.queue.max_attempts > var.backfill.max_attempts ? "" : "queue.max_attempts must exceed backfill.max_attempts (the chunk state, not the queue, fails a chunk)",
  ])
}
