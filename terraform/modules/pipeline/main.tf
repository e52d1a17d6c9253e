# The whole pipeline of one environment: the decoder, the loaders (decoded, errors and the raw
# archive, with the registry's metadata bucket), the backfill, and their monitoring. Each
# environment (terraform/environments/*) is this module called with its own values.
#
#   edge -> raw topic -> decoder -> decoded topic -> loader (decoded) -> data bucket
#               |                \-> error topic  -> loader (errors)  -> errors bucket
#               \-> loader (raw) -> raw bucket (archive, with IPs; read by the backfill)

locals {
  labels = merge(var.labels, { env = var.environment })
  topics = {
    raw     = "telemetry-raw-${var.environment}"
    decoded = "telemetry-decoded-${var.environment}"
    error   = "telemetry-errors-${var.environment}"
  }
}

module "decoder" {
  source = "../decoder"

  project_id = var.project_id
  region     = var.region
  name       = "decoder-${var.environment}"
  labels     = local.labels

  topics = local.topics

  function_source = {
    zip_path = var.function_sources.decoder
  }

  delivery = {
    max_delivery_attempts      = var.decoder.max_delivery_attempts
    message_retention_duration = var.decoder.message_retention
    dead_letter_retention      = var.decoder.dead_letter_retention
  }

  service = {
    min_instances = var.decoder.min_instances
    max_instances = var.decoder.max_instances
  }

  decoder = {
    dedup_on_failure = var.decoder.dedup_on_failure
    log_level        = var.decoder.log_level
  }

  resources = {
    schemas = var.decoder.schemas_object
  }
}

# The other functions' source zips, uploaded beside the decoder's (named by content, so a new
# build redeploys them and an unchanged one changes nothing).
resource "google_storage_bucket_object" "function_source" {
  for_each = { for function, zip in var.function_sources : function => zip if function != "decoder" && zip != null }

  bucket = module.decoder.resources_bucket
  name   = "function-source/${each.key}-${var.environment}-${filemd5(each.value)}.zip"
  source = each.value
}

module "loader" {
  source = "../loader"

  project_id = var.project_id
  region     = var.region
  name       = "loader-${var.environment}"
  labels     = local.labels

  streams = {
    decoded = { topic = local.topics.decoded, source = var.loader.sources.decoded }
    errors  = { topic = local.topics.error, source = var.loader.sources.errors }
    raw     = { topic = local.topics.raw, source = var.loader.sources.raw }
  }

  buckets = {
    raw_retention_days = var.loader.raw_retention_days
  }

  service = {
    max_instances = var.loader.max_instances
  }

  delivery = {
    max_delivery_attempts = var.loader.max_delivery_attempts
  }

  function_source = {
    bucket = module.decoder.resources_bucket
    object = google_storage_bucket_object.function_source["loader"].name
  }

  # The topics are the decoder module's.
  depends_on = [module.decoder]
}

module "backfill" {
  source = "../backfill"

  project_id = var.project_id
  region     = var.region
  name       = "backfill-${var.environment}"
  labels     = local.labels
  invokers   = var.backfill.invokers

  # Reads the raw archive, writes the decoded and errors sources' buckets, reads the registry.
  buckets = {
    sources      = [module.loader.buckets["raw"]]
    destinations = [module.loader.buckets["decoded"], module.loader.buckets["errors"]]
    metadata     = trimprefix(module.loader.metadata_location, "gs://")
  }

  # A replay to topics publishes where the decoder does.
  topics = {
    decoded = local.topics.decoded
    error   = local.topics.error
  }

  queue = {
    max_concurrent_dispatches = var.backfill.max_concurrent_chunks
  }

  service = {
    max_instances = var.backfill.max_instances
  }

  function_source = {
    bucket = module.decoder.resources_bucket
    object = google_storage_bucket_object.function_source["backfill"].name
  }
}

module "monitoring" {
  source = "../monitoring"

  project_id = var.project_id
  name       = "ingestion_${var.environment}"

  decoder = {
    function                  = module.decoder.function_name
    max_instances             = var.decoder.max_instances
    trigger_subscription      = local.decoder_trigger_subscription
    dead_letter_subscriptions = [local.decoder_dead_letter_subscription]
    raw_topic                 = local.topics.raw
    decoded_topics            = [local.topics.decoded]
    error_topic               = local.topics.error
  }

  loader = {
    functions                 = module.loader.functions
    max_instances             = var.loader.max_instances
    subscriptions             = { for stream, id in module.loader.push_subscriptions : stream => basename(id) }
    dead_letter_subscriptions = { for stream, id in module.loader.dead_letter_subscriptions : stream => basename(id) }
  }

  backfill = {
    function      = module.backfill.function_name
    max_instances = var.backfill.max_instances
    queue         = basename(module.backfill.queue_id)
  }

  alerts = var.alerts
}

locals {
  # Monitoring names subscriptions by their short id.
  decoder_trigger_subscription     = basename(module.decoder.trigger_subscription_id)
  decoder_dead_letter_subscription = basename(module.decoder.dead_letter_subscription_id)
}
