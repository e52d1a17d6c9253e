# Inputs of the monitoring module: what to watch (the functions, subscriptions and topics the
# other modules created, by name) and the alert thresholds. Each concern is one typed object.

variable "project_id" {
  description = "Project of the functions, subscriptions and topics watched; metrics, alerts and the dashboard live there too."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 lowercase letters, digits or hyphens)."
  }
}

variable "name" {
  description = "Prefix of every log-based metric (<name>_decoder_messages...), alert and dashboard name; one per environment in a project."
  type        = string

  validation {
    # Metric names become PromQL names (logging_googleapis_com:user_<name>_...): keep them plain.
    condition     = can(regex("^[a-z][a-z0-9_]{0,29}$", var.name))
    error_message = "name must be 1-30 lowercase letters, digits or underscores, starting with a letter."
  }
}

variable "decoder" {
  description = <<-EOT
    The decoder, by name (short ids, not paths).
    function: its function (= Cloud Run service) name; max_instances: its limit, for the near-max alert.
    trigger_subscription: the raw push subscription; dead_letter_subscriptions: where undeliverable
    raw messages wait; raw_topic, decoded_topics, error_topic: for the flow charts.
  EOT
  type = object({
    function                  = string
    max_instances             = number
    trigger_subscription      = string
    dead_letter_subscriptions = list(string)
    raw_topic                 = string
    decoded_topics            = list(string)
    error_topic               = string
  })
}

variable "loader" {
  description = <<-EOT
    The loader functions, or null when none is deployed.
    functions: function name by stream (decoded, errors, raw); max_instances: each one's limit.
    subscriptions: push subscription by stream (their oldest unacked message is alerted on);
    dead_letter_subscriptions: by stream.
  EOT
  type = object({
    functions                 = map(string)
    max_instances             = number
    subscriptions             = map(string)
    dead_letter_subscriptions = map(string)
  })
  default = null
}

variable "backfill" {
  description = "The backfill function (name, max_instances) and its Cloud Tasks queue, or null when none is deployed."
  type = object({
    function      = string
    max_instances = number
    queue         = string
  })
  default = null
}

variable "alerts" {
  description = <<-EOT
    Alert policies and their thresholds (docs/operations.md says what each one means and what to do).
    notification_channels: channel ids (projects/P/notificationChannels/N) every alert notifies.
    oldest_unacked_seconds: age of the oldest message waiting on a raw or decoded subscription.
    error_ratio: rejected messages of one error_type per input message, over error_window;
      error_types_ignored are left out (duplicates are expected traffic).
    function_5xx_per_second: 5xx answers per second of one function (503 asks Pub/Sub to redeliver).
    instances_ratio: instance count over max_instances.
    dedup_failures: failed Firestore calls per minute.
    duration: how long a condition must hold before it opens an incident.
  EOT
  type = object({
    notification_channels   = optional(list(string), [])
    oldest_unacked_seconds  = optional(number, 900)
    error_ratio             = optional(number, 0.05)
    error_types_ignored     = optional(list(string), ["Duplicate"])
    error_window            = optional(string, "10m")
    function_5xx_per_second = optional(number, 1)
    instances_ratio         = optional(number, 0.8)
    dedup_failures          = optional(number, 1)
    duration                = optional(string, "300s")
    auto_close              = optional(string, "86400s")
  })
  default = {}

  validation {
    condition     = var.alerts.error_ratio > 0 && var.alerts.error_ratio <= 1 && var.alerts.instances_ratio > 0 && var.alerts.instances_ratio <= 1
    error_message = "alerts.error_ratio and alerts.instances_ratio are fractions in (0, 1]."
  }

  validation {
    condition     = can(regex("^[0-9]+[smh]$", var.alerts.error_window)) && can(regex("^[0-9]+s$", var.alerts.duration)) && can(regex("^[0-9]+s$", var.alerts.auto_close))
    error_message = "alerts.error_window is a PromQL range such as \"10m\"; duration and auto_close are seconds such as \"300s\"."
  }

  validation {
    condition     = alltrue([for error_type in var.alerts.error_types_ignored : can(regex("^[A-Za-z0-9_]+$", error_type))])
    error_message = "alerts.error_types_ignored are error_type names (letters, digits, underscores)."
  }
}
