# Inputs of the decoder module. Each concern is one typed object with defaults, so a caller only
# writes what differs. The defaults of `decoder` and `resources.recheck_seconds` mirror the
# defaults in shared/ingestion/settings.py (tests/terraform checks that they agree). Validations
# only read their own variable, so they work on every Terraform >= 1.3.

variable "project_id" {
  description = "Project holding every resource of the decoder: topics, function, bucket, Firestore database."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 lowercase letters, digits or hyphens), not a project number."
  }
}

variable "region" {
  description = "Region of the function and its trigger, and of the resources bucket unless resources.location is set."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region such as europe-west1 (a zone or multi-region is not a function location)."
  }
}

variable "name" {
  description = "Function name; also the prefix of its service accounts (<name>-runtime, <name>-invoker), subscriptions and default bucket."
  type        = string
  default     = "decoder"

  validation {
    # Service account ids are 6-30 characters and get an 8-character suffix.
    condition     = can(regex("^[a-z]([a-z0-9-]{0,20}[a-z0-9])?$", var.name))
    error_message = "name must be 1-22 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  description = "Labels set on the topics, subscriptions, bucket and function."
  type        = map(string)
  default     = {}
}

variable "enable_apis" {
  description = "Enable the Google APIs the decoder needs (never disabled on destroy). Turn off when a project factory manages APIs."
  type        = bool
  default     = true
}

variable "topics" {
  description = <<-EOT
    Pub/Sub topics.
    raw: the input topic the edge publishes to (created here unless create_raw = false).
    decoded: the DECODED_TOPIC value, a topic name or a template with $${document_namespace} and
      $${document_type} placeholders (write $${...} in HCL so Terraform does not interpolate).
    decoded_topics: with a template, every topic name the template can produce (each is created and
      granted to the function); leave empty for a plain name, which is created as is.
    error: rejected messages and duplicates (ERROR_TOPIC). debug: optional DEBUG_TOPIC ("" for none).
    dead_letter: where undeliverable raw messages go ("" for <name>-dead-letter).
  EOT
  type = object({
    raw            = string
    create_raw     = optional(bool, true)
    decoded        = optional(string, "decoded")
    decoded_topics = optional(list(string), [])
    error          = optional(string, "decoder-errors")
    debug          = optional(string, "")
    dead_letter    = optional(string, "")
  })

  validation {
    condition = alltrue([
      for topic in concat(
        [var.topics.raw, var.topics.error],
        var.topics.decoded_topics,
        [for optional_topic in [var.topics.debug, var.topics.dead_letter] : optional_topic if optional_topic != ""],
      ) : can(regex("^[A-Za-z][-A-Za-z0-9._~+%]{2,254}$", topic)) && !startswith(lower(topic), "goog")
    ])
    error_message = "Topic names must be 3-255 characters of letters, digits and -._~+%, start with a letter and not start with goog."
  }

  validation {
    condition     = can(regex("\\$\\{", var.topics.decoded)) ? length(var.topics.decoded_topics) > 0 : length(var.topics.decoded_topics) == 0
    error_message = "topics.decoded_topics must list the topics a templated topics.decoded can produce, and must be empty when topics.decoded is a plain name."
  }

  validation {
    condition     = can(regex("\\$\\{", var.topics.decoded)) || can(regex("^[A-Za-z][-A-Za-z0-9._~+%]{2,254}$", var.topics.decoded))
    error_message = "topics.decoded must be a valid topic name or a template with $${...} placeholders."
  }

  validation {
    # Each listed topic must be something the template can render to: the template as a regex,
    # its literal "." and "+" escaped, each placeholder matching one topic-name segment.
    condition = alltrue([
      for topic in var.topics.decoded_topics :
      can(regex("^${replace(replace(replace(var.topics.decoded, ".", "\\."), "+", "\\+"), "/\\$\\{[^}]*\\}/", "[-A-Za-z0-9._~+%]+")}$", topic))
    ])
    error_message = "Every name in topics.decoded_topics must match the topics.decoded template."
  }

  validation {
    # The one-element outer list names the inner list once, so it can be measured twice.
    condition = alltrue([
      for names in [concat(
        [var.topics.raw, var.topics.error],
        var.topics.decoded_topics,
        can(regex("\\$\\{", var.topics.decoded)) ? [] : [var.topics.decoded],
        [for optional_topic in [var.topics.debug, var.topics.dead_letter] : optional_topic if optional_topic != ""],
      )] : length(distinct(names)) == length(names)
    ])
    error_message = "The raw, decoded, error, debug and dead-letter topics must all have different names."
  }
}

variable "delivery" {
  description = <<-EOT
    How raw messages reach the function.
    mode = "push" (default): a Pub/Sub push subscription on the raw topic, authenticated with OIDC, with
      exponential retry (minimum_backoff..maximum_backoff) and a dead-letter topic after
      max_delivery_attempts (5-100). Google recommends this direct trigger, and it is the only one whose
      dead-letter policy Terraform can set.
    mode = "eventarc": the function's own Eventarc trigger with RETRY_POLICY_RETRY. Eventarc manages
      that subscription, so it has no dead-letter topic: messages failing for 24 hours are dropped.
    message_retention_duration: backlog kept on the raw push subscription (600s-604800s).
    dead_letter_retention: how long dead-lettered messages wait on the inspection subscription.
  EOT
  type = object({
    mode                       = optional(string, "push")
    max_delivery_attempts      = optional(number, 5)
    minimum_backoff            = optional(string, "10s")
    maximum_backoff            = optional(string, "600s")
    message_retention_duration = optional(string, "604800s")
    dead_letter_retention      = optional(string, "604800s")
  })
  default = {}

  validation {
    condition     = contains(["push", "eventarc"], var.delivery.mode)
    error_message = "delivery.mode must be push or eventarc."
  }

  validation {
    condition     = var.delivery.max_delivery_attempts >= 5 && var.delivery.max_delivery_attempts <= 100 && floor(var.delivery.max_delivery_attempts) == var.delivery.max_delivery_attempts
    error_message = "delivery.max_delivery_attempts must be a whole number from 5 to 100 (the Pub/Sub limits)."
  }

  validation {
    condition = alltrue([
      for backoff in [var.delivery.minimum_backoff, var.delivery.maximum_backoff] :
      can(regex("^[0-9]+(\\.[0-9]{1,9})?s$", backoff)) && tonumber(trimsuffix(backoff, "s")) <= 600
    ]) && tonumber(trimsuffix(var.delivery.minimum_backoff, "s")) <= tonumber(trimsuffix(var.delivery.maximum_backoff, "s"))
    error_message = "delivery backoffs are durations such as \"10s\" of at most 600s, minimum <= maximum."
  }

  validation {
    condition = alltrue([
      for retention in [var.delivery.message_retention_duration, var.delivery.dead_letter_retention] :
      can(regex("^[0-9]+s$", retention)) && tonumber(trimsuffix(retention, "s")) >= 600 && tonumber(trimsuffix(retention, "s")) <= 604800
    ])
    error_message = "delivery retentions are whole-second durations from \"600s\" to \"604800s\" (7 days)."
  }
}

variable "service" {
  description = <<-EOT
    Size and limits of the function. Concurrency above 1 needs at least one whole CPU.
    concurrency: requests one instance takes at once. The function serves them all on one event
    loop and shares its Pub/Sub and Firestore RPCs across them, so more requests in flight mean
    fuller batches and less CPU per message; 80 is headroom over the 11-30 requests a 1-CPU
    instance has in flight when busy (~1,000 msg/s without dedup, 600-750 with Firestore dedup;
    docs/capacity.md).
    timeout_seconds is also the push acknowledgement deadline (capped to 10-600 s).
    build_service_account: the account Cloud Build uses to build the function (projects/P/serviceAccounts/EMAIL); null for the default.
  EOT
  type = object({
    min_instances         = optional(number, 0)
    max_instances         = optional(number, 100)
    concurrency           = optional(number, 80)
    available_cpu         = optional(string, "1")
    available_memory      = optional(string, "1Gi")
    timeout_seconds       = optional(number, 60)
    ingress_settings      = optional(string, "ALLOW_INTERNAL_ONLY")
    build_service_account = optional(string)
  })
  default = {}

  validation {
    condition     = var.service.min_instances >= 0 && var.service.max_instances >= 1 && var.service.min_instances <= var.service.max_instances
    error_message = "service needs 0 <= min_instances <= max_instances and max_instances >= 1 (Cloud Run functions require a maximum)."
  }

  validation {
    condition     = var.service.concurrency >= 1 && var.service.concurrency <= 1000 && floor(var.service.concurrency) == var.service.concurrency
    error_message = "service.concurrency must be a whole number from 1 to 1000."
  }

  validation {
    condition     = can(tonumber(var.service.available_cpu)) && (var.service.concurrency == 1 || try(tonumber(var.service.available_cpu) >= 1, false))
    error_message = "service.available_cpu must be a number, and at least \"1\" when concurrency is above 1."
  }

  validation {
    # 540 s is the documented maximum for event-driven functions; a push delivery waits at most 600 s.
    condition     = var.service.timeout_seconds >= 1 && var.service.timeout_seconds <= 540
    error_message = "service.timeout_seconds must be from 1 to 540."
  }

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.service.ingress_settings)
    error_message = "service.ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "decoder" {
  description = "Decoder behaviour, passed to the function as environment variables; names, defaults and meanings are in shared/ingestion/settings.py."
  type = object({
    validation_engine         = optional(string, "jsonschema-rs")
    dedup_backend             = optional(string, "firestore")
    dedup_window_seconds      = optional(number, 600)
    dedup_on_failure          = optional(string, "deliver")
    dedup_timeout_seconds     = optional(number, 2)
    batch_hold_ms             = optional(number, 5)
    output_compression        = optional(string, "gzip")
    error_compression         = optional(string, "gzip")
    include_stack_trace       = optional(bool, true)
    max_payload_bytes         = optional(number, 8388608)
    log_level                 = optional(string, "INFO")
    counters_interval_seconds = optional(number, 60)
  })
  default = {}

  validation {
    condition     = contains(["jsonschema-rs", "fastjsonschema"], var.decoder.validation_engine)
    error_message = "decoder.validation_engine must be jsonschema-rs or fastjsonschema."
  }

  validation {
    # "memory" is per instance: only useful with min_instances = max_instances = 1.
    condition     = contains(["firestore", "memory", "off"], var.decoder.dedup_backend)
    error_message = "decoder.dedup_backend must be firestore, memory or off."
  }

  validation {
    condition     = contains(["deliver", "retry"], var.decoder.dedup_on_failure)
    error_message = "decoder.dedup_on_failure must be deliver or retry."
  }

  validation {
    condition     = alltrue([for compression in [var.decoder.output_compression, var.decoder.error_compression] : contains(["gzip", "none"], compression)])
    error_message = "decoder.output_compression and decoder.error_compression must be gzip or none."
  }

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.decoder.log_level)
    error_message = "decoder.log_level must be DEBUG, INFO, WARNING or ERROR."
  }

  validation {
    condition     = var.decoder.dedup_window_seconds > 0 && var.decoder.dedup_timeout_seconds > 0 && var.decoder.counters_interval_seconds > 0
    error_message = "decoder durations (dedup_window_seconds, dedup_timeout_seconds, counters_interval_seconds) must be positive."
  }

  validation {
    # 0 turns the hold off; it is a latency cap per batched step, so keep it well under the RPCs' deadlines.
    condition     = var.decoder.batch_hold_ms >= 0 && var.decoder.batch_hold_ms <= 1000
    error_message = "decoder.batch_hold_ms must be between 0 and 1000."
  }

  validation {
    condition     = var.decoder.max_payload_bytes >= 1 && floor(var.decoder.max_payload_bytes) == var.decoder.max_payload_bytes
    error_message = "decoder.max_payload_bytes must be a positive whole number."
  }
}

variable "firestore" {
  description = <<-EOT
    Firestore (native mode) database of the deduplication documents, used when decoder.dedup_backend = "firestore".
    collection/ttl_field: where the decoder writes one document per delivered uri, with its expiry time
      as a Timestamp in ttl_field; the module puts a TTL policy on that field.
    unindexed_fields: other fields of those documents exempted from indexing (nothing queries them).
    create_database: create the database here (in location, e.g. "eur3" or "europe-west1"); it is
      abandoned, not deleted, on destroy. Leave false when the project already has it.
  EOT
  type = object({
    database         = optional(string, "(default)")
    collection       = optional(string, "decoder-dedup")
    ttl_field        = optional(string, "expire_at")
    unindexed_fields = optional(list(string), ["uri"])
    create_database  = optional(bool, false)
    location         = optional(string)
  })
  default = {}

  validation {
    condition     = !var.firestore.create_database || var.firestore.location != null
    error_message = "firestore.location is required when firestore.create_database is true."
  }

  validation {
    condition = can(regex("^[A-Za-z_][A-Za-z0-9_-]*$", var.firestore.collection)) && alltrue([
      for field in concat([var.firestore.ttl_field], var.firestore.unindexed_fields) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", field))
    ]) && !contains(var.firestore.unindexed_fields, var.firestore.ttl_field)
    error_message = "firestore.collection and the field names must be simple identifiers (no dots or slashes), and the TTL field is not listed in unindexed_fields (it is exempted already)."
  }
}

variable "resources" {
  description = <<-EOT
    The resources bucket (versioned, uniform access) holding the schema tarball, the GeoIP databases, an
    optional scrubber rules file and,
    when function_source.zip_path is used, the function source. Object names are relative to the bucket
    ("" leaves the resource out: bundled schemas and scrubber rules, no GeoIP lookup). The function checks every
    recheck_seconds whether an object has a new generation and reloads it, so an upload updates the
    decoder without a redeploy.
    bucket: name (null for <project_id>-<name>-resources); location: null for the function region.
    noncurrent_versions_kept / noncurrent_days_kept: older generations are kept for rollback until
      that many newer ones exist or that many days have passed.
  EOT
  type = object({
    bucket                   = optional(string)
    location                 = optional(string)
    schemas                  = optional(string, "")
    geo_city_database        = optional(string, "")
    geo_isp_database         = optional(string, "")
    geo_city_filter          = optional(string, "")
    scrubber_rules           = optional(string, "")
    recheck_seconds          = optional(number, 300)
    noncurrent_versions_kept = optional(number, 5)
    noncurrent_days_kept     = optional(number, 90)
    force_destroy            = optional(bool, false)
  })
  default = {}

  validation {
    condition = alltrue([
      for object_name in [var.resources.schemas, var.resources.geo_city_database, var.resources.geo_isp_database, var.resources.geo_city_filter, var.resources.scrubber_rules] :
      !startswith(object_name, "gs://") && !startswith(object_name, "/")
    ])
    error_message = "resources object names are relative to the bucket (no gs:// prefix, no leading slash)."
  }

  validation {
    condition     = var.resources.recheck_seconds > 0 && var.resources.noncurrent_versions_kept >= 1 && var.resources.noncurrent_days_kept >= 1
    error_message = "resources.recheck_seconds must be positive, noncurrent_versions_kept and noncurrent_days_kept at least 1."
  }
}

variable "function_source" {
  description = <<-EOT
    The packaged function source (built by terraform/scripts/package_function.py: main.py,
    requirements.txt, ingestion/, schemas/ at the zip root). Either zip_path, a local zip the module
    uploads to the resources bucket under function-source/ with its MD5 in the name (so each new build
    redeploys the function), or bucket + object of a zip uploaded beforehand.
  EOT
  type = object({
    zip_path = optional(string)
    bucket   = optional(string)
    object   = optional(string)
  })

  validation {
    condition     = (var.function_source.zip_path != null) != (var.function_source.bucket != null && var.function_source.object != null)
    error_message = "function_source needs either zip_path or both bucket and object."
  }
}
