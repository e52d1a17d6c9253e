# What this environment passes to terraform/modules/pipeline, with the module's types (a test
# keeps them equal); what each value means, and its validation, is in the module.

variable "project_id" {
  description = "The environment's project (given on the command line: -var=project_id=...)."
  type        = string
}

variable "region" {
  description = "Region of the functions and buckets."
  type        = string
}

variable "environment" {
  description = "Short environment name (dev, prod), suffix of every name."
  type        = string
}

variable "labels" {
  description = "Labels on every resource that takes them (env is added)."
  type        = map(string)
  default     = {}
}

variable "function_sources" {
  description = "The zips of terraform/scripts/package_function.py (the package step's build/)."
  type = object({
    decoder  = string
    loader   = string
    backfill = string
  })
  default = {
    decoder  = "../../../build/decoder-source.zip"
    loader   = "../../../build/loader-source.zip"
    backfill = "../../../build/backfill-source.zip"
  }
}

variable "decoder" {
  description = "The decoder function: the pipeline module's variable decoder."
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
}

variable "loader" {
  description = "The loader functions: the pipeline module's variable loader."
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
  description = "The backfill function: the pipeline module's variable backfill."
  type = object({
    max_instances         = number
    max_concurrent_chunks = number
    invokers              = list(string)
  })
}

variable "alerts" {
  description = "Alert thresholds and channels: the pipeline module's variable alerts."
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
