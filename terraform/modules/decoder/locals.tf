# Names and the function environment, derived from the variables alone (no resource attributes),
# so that tests/terraform can evaluate this file with a provider-less Terraform and feed the
# environment to ingestion.settings.DecoderSettings.

locals {
  push = var.delivery.mode == "push"

  raw_topic_id             = "projects/${var.project_id}/topics/${var.topics.raw}"
  dead_letter_topic_name   = var.topics.dead_letter != "" ? var.topics.dead_letter : "${var.name}-dead-letter"
  trigger_subscription     = "${var.name}-trigger"
  dead_letter_subscription = "${local.dead_letter_topic_name}-inspect"

  # A templated DECODED_TOPIC publishes to topics named per document; a plain one to itself.
  decoded_is_template = can(regex("\\$\\{", var.topics.decoded))
  decoded_topic_names = local.decoded_is_template ? toset(var.topics.decoded_topics) : toset([var.topics.decoded])

  resources_bucket = var.resources.bucket != null ? var.resources.bucket : "${var.project_id}-${var.name}-resources"

  # Object name in the resources bucket => gs:// location; "" stays "" (not configured).
  resource_locations = {
    for setting, object_name in {
      schemas           = var.resources.schemas
      geo_city_database = var.resources.geo_city_database
      geo_isp_database  = var.resources.geo_isp_database
      geo_city_filter   = var.resources.geo_city_filter
      scrubber_rules    = var.resources.scrubber_rules
    } : setting => object_name == "" ? "" : "gs://${local.resources_bucket}/${object_name}"
  }
  # "" means the schemas bundled by package_function.py, which the code finds beside its own
  # package in the unpacked source; a schemas object in the bucket replaces them.
  schemas_location = local.resource_locations.schemas

  # The error messages' input attribute: the subscription the function reads, or the raw topic
  # when Eventarc owns the (unnamed) subscription.
  input_name = local.push ? "projects/${var.project_id}/subscriptions/${local.trigger_subscription}" : local.raw_topic_id

  # Every variable of ingestion.settings.ENVIRONMENT, set explicitly so the deployment says what
  # it runs with.
  environment = {
    GOOGLE_CLOUD_PROJECT      = var.project_id
    DECODED_TOPIC             = var.topics.decoded
    ERROR_TOPIC               = var.topics.error
    DEBUG_TOPIC               = var.topics.debug
    SCHEMAS_LOCATION          = local.schemas_location
    GEO_CITY_DATABASE         = local.resource_locations.geo_city_database
    GEO_ISP_DATABASE          = local.resource_locations.geo_isp_database
    GEO_CITY_FILTER           = local.resource_locations.geo_city_filter
    SCRUBBER_RULES            = local.resource_locations.scrubber_rules
    RESOURCE_RECHECK_SECONDS  = tostring(var.resources.recheck_seconds)
    VALIDATION_ENGINE         = var.decoder.validation_engine
    DEDUP_BACKEND             = var.decoder.dedup_backend
    DEDUP_COLLECTION          = var.firestore.collection
    DEDUP_DATABASE            = var.firestore.database
    DEDUP_WINDOW_SECONDS      = tostring(var.decoder.dedup_window_seconds)
    DEDUP_ON_FAILURE          = var.decoder.dedup_on_failure
    DEDUP_TIMEOUT_SECONDS     = tostring(var.decoder.dedup_timeout_seconds)
    BATCH_HOLD_MS             = tostring(var.decoder.batch_hold_ms)
    OUTPUT_COMPRESSION        = var.decoder.output_compression
    ERROR_COMPRESSION         = var.decoder.error_compression
    INCLUDE_STACK_TRACE       = tostring(var.decoder.include_stack_trace)
    MAX_PAYLOAD_BYTES         = tostring(var.decoder.max_payload_bytes)
    JOB_NAME                  = var.name
    INPUT_NAME                = local.input_name
    LOG_LEVEL                 = var.decoder.log_level
    COUNTERS_INTERVAL_SECONDS = tostring(var.decoder.counters_interval_seconds)
  }

  # What the function runs with: the settings above. The function is an ASGI one (one event
  # loop per instance, uvicorn under gunicorn), so there are no request threads to size:
  # Cloud Run's max_instance_request_concurrency alone bounds the requests in flight.
  function_environment = local.environment

  # A push request waits for the function at most this long (Pub/Sub allows 10-600 s).
  ack_deadline_seconds = min(600, max(10, var.service.timeout_seconds))

  use_firestore = var.decoder.dedup_backend == "firestore"
}
