# Inputs of the loader module. Each concern is one typed object with defaults, so a caller only
# writes what differs. The defaults of `flush` mirror shared/ingestion/settings.py (tests/terraform
# checks that they agree).

variable "project_id" {
  description = "Project holding every resource of the loader: functions, subscriptions, buckets."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 lowercase letters, digits or hyphens), not a project number."
  }
}

variable "region" {
  description = "Region of the functions, and of the buckets unless buckets.location is set."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region such as europe-west1."
  }
}

variable "name" {
  description = "Prefix of every function (<name>-<stream>), service account, subscription and default bucket name."
  type        = string
  default     = "loader"

  validation {
    # Service account ids are 6-30 characters: <name>-<stream> with the longest stream "decoded".
    condition     = can(regex("^[a-z]([a-z0-9-]{0,13}[a-z0-9])?$", var.name))
    error_message = "name must be 1-15 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  description = "Labels set on the subscriptions, topics, buckets and functions."
  type        = map(string)
  default     = {}
}

variable "enable_apis" {
  description = "Enable the Google APIs the loader needs (never disabled on destroy)."
  type        = bool
  default     = true
}

variable "streams" {
  description = <<-EOT
    What is loaded: each stream is one function with its own push subscription, dead-letter topic,
    bucket and service account. topic: the topic it subscribes to (created elsewhere, e.g. by the
    decoder module). source: its entry in the registry (LOADER_SOURCE), whose writer entry names the
    bucket and prefix it writes.
    decoded: the decoded topic. errors: the decoder's error topic (an errors source, like
    telemetry-errors; without it nothing subscribes and Pub/Sub drops every error message).
    raw: optional, the raw topic (the archive the backfill reads; it keeps IP addresses, so its
    bucket is separate and only its own loader may write it).
  EOT
  type = object({
    decoded = object({ topic = string, source = string })
    errors  = optional(object({ topic = string, source = string }))
    raw     = optional(object({ topic = string, source = string }))
  })

  validation {
    condition = alltrue([
      for stream in [var.streams.decoded, var.streams.errors, var.streams.raw] :
      can(regex("^[A-Za-z][-A-Za-z0-9._~+%]{2,254}$", stream.topic)) && can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", stream.source))
      if stream != null
    ])
    error_message = "Every stream needs a valid topic name and a source name (letters, digits, '_', '.', '-')."
  }
}

variable "buckets" {
  description = <<-EOT
    Buckets. data, errors, raw: where each stream writes (null: <project>-<name>-<stream>); the
    registry's writer entries must name them. metadata: the registry (sources.json, schema.json),
    versioned so every accepted version stays for rollback (null: <project>-<name>-metadata).
    raw_retention_days: raw objects (with IPs) are deleted after this many days (0: kept).
    noncurrent_versions_kept: old registry generations kept.
  EOT
  type = object({
    data                     = optional(string)
    errors                   = optional(string)
    raw                      = optional(string)
    metadata                 = optional(string)
    location                 = optional(string)
    raw_retention_days       = optional(number, 30)
    noncurrent_versions_kept = optional(number, 100)
    force_destroy            = optional(bool, false)
  })
  default = {}

  validation {
    condition     = var.buckets.raw_retention_days >= 0 && var.buckets.noncurrent_versions_kept >= 1
    error_message = "buckets.raw_retention_days must be >= 0 and buckets.noncurrent_versions_kept >= 1."
  }
}

variable "flush" {
  description = "When a batch becomes an object, and how much a function instance holds (LOADER_* settings in shared/ingestion/settings.py)."
  type = object({
    messages         = optional(number, 1000)
    bytes            = optional(number, 8388608)
    seconds          = optional(number, 2)
    max_queued_bytes = optional(number, 67108864)
    recheck_seconds  = optional(number, 5)
    write_threads    = optional(number, 4)
  })
  default = {}

  validation {
    condition     = var.flush.messages >= 1 && var.flush.bytes >= 1 && var.flush.seconds > 0 && var.flush.max_queued_bytes >= var.flush.bytes && var.flush.recheck_seconds > 0 && var.flush.write_threads >= 1
    error_message = "flush values must be positive, and max_queued_bytes at least bytes."
  }
}

variable "service" {
  description = <<-EOT
    Function sizing. concurrency: requests in flight per instance, i.e. messages that can share an
    object (Cloud Run allows up to 1000). timeout_seconds also sets the push ack deadline; it must
    exceed flush.seconds plus a write.
  EOT
  type = object({
    min_instances         = optional(number, 0)
    max_instances         = optional(number, 100)
    concurrency           = optional(number, 1000)
    available_cpu         = optional(string, "1")
    available_memory      = optional(string, "1Gi")
    timeout_seconds       = optional(number, 60)
    ingress_settings      = optional(string, "ALLOW_INTERNAL_ONLY")
    build_service_account = optional(string)
    log_level             = optional(string, "INFO")
  })
  default = {}

  validation {
    condition     = var.service.concurrency >= 1 && var.service.concurrency <= 1000 && var.service.max_instances >= 1 && var.service.timeout_seconds >= 10 && var.service.timeout_seconds <= 540
    error_message = "service.concurrency must be 1-1000, max_instances >= 1 and timeout_seconds 10-540."
  }

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.service.log_level)
    error_message = "service.log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "delivery" {
  description = "Retry and dead-letter settings of the push subscriptions (max_delivery_attempts 5-100)."
  type = object({
    max_delivery_attempts      = optional(number, 5)
    minimum_backoff            = optional(string, "10s")
    maximum_backoff            = optional(string, "600s")
    message_retention_duration = optional(string, "604800s")
    dead_letter_retention      = optional(string, "604800s")
  })
  default = {}

  validation {
    condition     = var.delivery.max_delivery_attempts >= 5 && var.delivery.max_delivery_attempts <= 100
    error_message = "delivery.max_delivery_attempts must be from 5 to 100 (the Pub/Sub limits)."
  }
}

variable "function_source" {
  description = "The zip built by terraform/scripts/package_function.py --function loader, already uploaded: its bucket and object."
  type = object({
    bucket = string
    object = string
  })
}
