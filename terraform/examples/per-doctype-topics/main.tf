# One decoded topic per namespace and document type, as gcp-ingestion routes its outputs:
# DECODED_TOPIC = decoded-<env>-${document_namespace}-${document_type}. Every topic the template
# can produce must be listed: the function may only publish to topics created and granted here,
# and a message whose topic is missing fails delivery until it is dead-lettered. A debug topic
# receives every message that carries x_debug_id. Deliveries are tried 10 times before
# dead-lettering.

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  # <document_namespace>-<document_type> pairs this deployment accepts.
  document_types = [
    "telemetry-main",
    "telemetry-event",
    "telemetry-crash",
    "firefox-installer-install",
    "org-mozilla-fenix-baseline",
    "org-mozilla-fenix-metrics",
    "org-mozilla-fenix-events",
  ]
}

module "decoder" {
  source = "../../modules/decoder"

  project_id = var.project_id
  region     = var.region
  name       = "decoder-${var.environment}"
  labels     = { app = "ingestion-decoder", env = var.environment }

  topics = {
    raw            = "telemetry-raw-${var.environment}"
    decoded        = "decoded-${var.environment}-$${document_namespace}-$${document_type}"
    decoded_topics = [for document_type in local.document_types : "decoded-${var.environment}-${document_type}"]
    error          = "telemetry-errors-${var.environment}"
    debug          = "telemetry-debug-${var.environment}"
  }

  delivery = {
    max_delivery_attempts = 10
  }

  service = {
    min_instances = 1
    max_instances = 200
    concurrency   = 8
  }

  decoder = {
    # Dead-letter instead of delivering unchecked when Firestore is unreachable.
    dedup_on_failure = "retry"
  }

  function_source = {
    zip_path = var.source_zip
  }
}
