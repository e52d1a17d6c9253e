# One typed object per concern: what differs between environments (their terraform.tfvars).

variable "project_id" {
  description = "Project of everything."
  type        = string
}

variable "region" {
  description = "Region of the functions and buckets."
  type        = string
}

variable "environment" {
  description = "Short environment name, suffix of every function, topic and metric name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,5}$", var.environment))
    error_message = "environment must be 1-6 lowercase letters or digits, starting with a letter (it ends up in service account ids)."
  }
}

variable "labels" {
  description = "Labels on every resource that takes them (env is added)."
  type        = map(string)
  default     = {}
}

variable "function_sources" {
  description = <<-EOT
    The function source zips built by terraform/scripts/package_function.py --function NAME
    (relative paths are read from the directory terraform runs in: the environment's).
  EOT
  type = object({
    decoder  = string
    loader   = string
    backfill = string
  })
}

variable "decoder" {
  description = <<-EOT
    The decoder function (terraform/modules/decoder).
    min_instances/max_instances: its scaling bounds; the instances alert fires near max_instances.
    max_delivery_attempts: push attempts before a raw message goes to the dead-letter topic (5-100).
    message_retention / dead_letter_retention: backlog kept on the raw and dead-letter subscriptions.
    dedup_on_failure: deliver (best effort) or retry when Firestore is unreachable.
    schemas_object: the schema tarball in the resources bucket ("" for the schemas in the source zip).
  EOT
  type = object({
    min_instances         = number
    max_instances         = number
    max_delivery_attempts = number
    message_retention     = string
    dead_letter_retention = string
    dedup_on_failure      = string
    log_level             = string
    schemas_object        = string
  })

  validation {
    # The metrics are read from INFO lines (`decoder count`): a quieter level would blind them.
    condition     = contains(["DEBUG", "INFO"], var.decoder.log_level)
    error_message = "decoder.log_level must be DEBUG or INFO: the log-based metrics read INFO lines."
  }
}

variable "loader" {
  description = <<-EOT
    The loader functions (terraform/modules/loader), one per stream.
    sources: each stream's source in the registry (its writer entry names the bucket and layout).
    raw_retention_days: raw objects (with IP addresses) are deleted after this many days.
  EOT
  type = object({
    max_instances         = number
    max_delivery_attempts = number
    raw_retention_days    = number
    sources = object({
      decoded = string
      errors  = string
      raw     = string
    })
  })
}

variable "backfill" {
  description = <<-EOT
    The backfill function (terraform/modules/backfill): max_concurrent_chunks chunks decode at once
    (the queue's max_concurrent_dispatches), on at most max_instances instances (more than that);
    invokers: who may plan, start, watch and cancel runs (user:, group: or serviceAccount:).
  EOT
  type = object({
    max_instances         = number
    max_concurrent_chunks = number
    invokers              = list(string)
  })

  validation {
    condition     = var.backfill.max_instances > var.backfill.max_concurrent_chunks
    error_message = "backfill.max_instances must exceed max_concurrent_chunks (status and cancel need instances too)."
  }
}

variable "alerts" {
  description = "Alert thresholds and notification channels (terraform/modules/monitoring, variable alerts; docs/operations.md)."
  type = object({
    notification_channels   = list(string)
    oldest_unacked_seconds  = number
    error_ratio             = number
    function_5xx_per_second = number
    instances_ratio         = number
    dedup_failures          = number
    duration                = string
  })
}
