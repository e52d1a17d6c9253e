# Inputs of the backfill module. Each concern is one typed object with defaults, so a caller only
# writes what differs. The defaults of `backfill`, `queue.dispatch_deadline_seconds`, `firestore`
# and `topics` mirror shared/ingestion/settings.py (tests/terraform checks that they agree).
# Validations only read their own variable (Terraform >= 1.3); the checks across variables are
# preconditions on the function (locals.tf, `setting_conflicts`).

variable "project_id" {
  description = "Project of the function, its queue, its service accounts and its Firestore state."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 lowercase letters, digits or hyphens), not a project number."
  }
}

variable "region" {
  description = "Region of the function and of the Cloud Tasks queue."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a region such as europe-west1."
  }
}

variable "name" {
  description = "Function name; also the prefix of its service accounts (<name>-runtime, <name>-tasks) and its queue (<name>-chunks)."
  type        = string
  default     = "backfill"

  validation {
    # Service account ids are 6-30 characters: <name>-runtime is the longest.
    condition     = can(regex("^[a-z]([a-z0-9-]{0,20}[a-z0-9])?$", var.name))
    error_message = "name must be 1-22 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  description = "Labels set on the function."
  type        = map(string)
  default     = {}
}

variable "enable_apis" {
  description = "Enable the Google APIs the backfill needs (never disabled on destroy)."
  type        = bool
  default     = true
}

variable "invokers" {
  description = <<-EOT
    Who may call the function's control endpoints (plan, start, status, cancel): IAM members such
    as "group:data-ops@example.com", "user:..." or "serviceAccount:..." (the migration workflow's
    account). The queue's own service account is granted beside them; nobody else can invoke it.
  EOT
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.invokers : can(regex("^(user|group|serviceAccount):[^@\\s]+@[^@\\s]+$", member))])
    error_message = "invokers are user:, group: or serviceAccount: members with an email (no domain-wide or public members)."
  }
}

variable "buckets" {
  description = <<-EOT
    What the function may touch in Cloud Storage (also BACKFILL_ALLOWED_BUCKETS: the allowlist of
    every request). sources: buckets a backfill reads (the raw archive): list and read only.
    destinations: buckets a backfill writes (the decoded and error sources' data buckets): objects
    named after the run and chunk, overwritten by a retried chunk, hence create and delete.
    metadata: the registry's bucket (METADATA_LOCATION), read only.
  EOT
  type = object({
    sources      = list(string)
    destinations = optional(list(string), [])
    metadata     = string
  })

  validation {
    condition = length(var.buckets.sources) > 0 && alltrue([
      for bucket in concat(var.buckets.sources, var.buckets.destinations, [var.buckets.metadata]) :
      can(regex("^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$", bucket))
    ])
    error_message = "buckets.sources needs at least one bucket, and every entry must be a bucket name (no gs:// prefix)."
  }
}

variable "topics" {
  description = <<-EOT
    Where a replay ("destination": "topics") publishes: DECODED_TOPIC and ERROR_TOPIC, topics that
    exist already (the decoder module's). decoded may be a template with $${document_namespace} and
    $${document_type}; decoded_topics then lists every topic it produces (each is granted).
  EOT
  type = object({
    decoded        = optional(string, "decoded")
    decoded_topics = optional(list(string), [])
    error          = optional(string, "decoder-errors")
  })
  default = {}

  validation {
    condition     = can(regex("\\$\\{", var.topics.decoded)) ? length(var.topics.decoded_topics) > 0 : length(var.topics.decoded_topics) == 0
    error_message = "topics.decoded_topics must list the topics a templated topics.decoded produces, and be empty for a plain name."
  }
}

variable "queue" {
  description = <<-EOT
    The Cloud Tasks queue of chunk tasks. max_concurrent_dispatches is how many chunks decode at
    once (one function instance each: the run's speed); max_dispatches_per_second how fast they
    start. max_attempts: deliveries of one task before the queue drops it; keep it above
    backfill.max_attempts so the chunk's own state, not the queue, decides that a chunk failed.
    dispatch_deadline_seconds: how long Cloud Tasks waits for one chunk task (15-1800 s, Cloud
    Tasks' limits); the function's timeout must be at least that, and backfill.time_budget_seconds
    below it (a chunk yields and re-enqueues itself before the deadline).
  EOT
  type = object({
    max_dispatches_per_second = optional(number, 10)
    max_concurrent_dispatches = optional(number, 50)
    max_attempts              = optional(number, 10)
    min_backoff               = optional(string, "10s")
    max_backoff               = optional(string, "300s")
    max_doublings             = optional(number, 4)
    dispatch_deadline_seconds = optional(number, 1800)
  })
  default = {}

  validation {
    condition     = var.queue.max_dispatches_per_second > 0 && var.queue.max_dispatches_per_second <= 500 && var.queue.max_concurrent_dispatches >= 1 && var.queue.max_concurrent_dispatches <= 5000
    error_message = "queue.max_dispatches_per_second must be in (0, 500] and queue.max_concurrent_dispatches 1-5000 (the Cloud Tasks limits)."
  }

  validation {
    condition     = var.queue.dispatch_deadline_seconds >= 15 && var.queue.dispatch_deadline_seconds <= 1800 && floor(var.queue.dispatch_deadline_seconds) == var.queue.dispatch_deadline_seconds
    error_message = "queue.dispatch_deadline_seconds must be a whole number from 15 to 1800 (Cloud Tasks' limits for HTTP tasks)."
  }

  validation {
    condition = var.queue.max_attempts >= 1 && alltrue([
      for backoff in [var.queue.min_backoff, var.queue.max_backoff] : can(regex("^[0-9]+(\\.[0-9]{1,9})?s$", backoff))
    ]) && tonumber(trimsuffix(var.queue.min_backoff, "s")) <= tonumber(trimsuffix(var.queue.max_backoff, "s"))
    error_message = "queue.max_attempts must be at least 1; backoffs are durations such as \"10s\", min_backoff <= max_backoff."
  }
}

variable "backfill" {
  description = "Limits and behaviour of a run (BACKFILL_* and the decoder settings in shared/ingestion/settings.py, where each is explained)."
  type = object({
    max_chunks                = optional(number, 10000)
    max_bytes                 = optional(number, 17592186044416)
    time_budget_seconds       = optional(number, 1500)
    max_attempts              = optional(number, 5)
    commit_bytes              = optional(number, 16777216)
    mark_days                 = optional(number, 30)
    validation_engine         = optional(string, "jsonschema-rs")
    max_payload_bytes         = optional(number, 8388608)
    output_compression        = optional(string, "gzip")
    error_compression         = optional(string, "gzip")
    include_stack_trace       = optional(bool, true)
    log_level                 = optional(string, "INFO")
    counters_interval_seconds = optional(number, 60)
  })
  default = {}

  validation {
    condition     = var.backfill.max_chunks >= 1 && var.backfill.max_bytes >= 1 && var.backfill.time_budget_seconds > 0 && var.backfill.max_attempts >= 1 && var.backfill.commit_bytes >= 1 && var.backfill.mark_days > 0 && var.backfill.max_payload_bytes >= 1 && var.backfill.counters_interval_seconds > 0
    error_message = "backfill limits, budgets and sizes must be positive."
  }

  validation {
    condition     = contains(["jsonschema-rs", "fastjsonschema"], var.backfill.validation_engine) && alltrue([for compression in [var.backfill.output_compression, var.backfill.error_compression] : contains(["gzip", "none"], compression)]) && contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.backfill.log_level)
    error_message = "backfill.validation_engine is jsonschema-rs or fastjsonschema, the compressions gzip or none, log_level DEBUG, INFO, WARNING or ERROR."
  }
}

variable "firestore" {
  description = <<-EOT
    Run and chunk state (Firestore native mode): database and the collection of runs
    (BACKFILL_COLLECTION; chunks and dedup marks are subcollections of a run). The dedup marks of
    `"dedup": "run"` runs carry an expiry in `expire_at` and a TTL policy deletes them
    backfill.mark_days after they were written; runs and chunks are kept (a few documents a run,
    the history of what was backfilled).
  EOT
  type = object({
    database   = optional(string, "(default)")
    collection = optional(string, "backfill-runs")
  })
  default = {}

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_-]*$", var.firestore.collection))
    error_message = "firestore.collection must be a simple collection id (no dots or slashes)."
  }
}

variable "resources" {
  description = <<-EOT
    The decoder's resources, read as the decoder reads them (so a backfill decodes like the live
    pipeline): bucket (the decoder module's resources_bucket; null for the bundled schemas and no
    GeoIP), object names in it ("" leaves a resource out), and how often a new generation is looked for.
  EOT
  type = object({
    bucket            = optional(string)
    schemas           = optional(string, "")
    geo_city_database = optional(string, "")
    geo_isp_database  = optional(string, "")
    geo_city_filter   = optional(string, "")
    scrubber_rules    = optional(string, "")
    recheck_seconds   = optional(number, 300)
  })
  default = {}

  validation {
    condition = var.resources.recheck_seconds > 0 && alltrue([
      for object_name in [var.resources.schemas, var.resources.geo_city_database, var.resources.geo_isp_database, var.resources.geo_city_filter, var.resources.scrubber_rules] :
      !startswith(object_name, "gs://") && !startswith(object_name, "/")
    ])
    error_message = "resources object names are relative to the bucket (no gs://, no leading slash); recheck_seconds is positive."
  }

  validation {
    condition = var.resources.bucket != null || alltrue([
      for object_name in [var.resources.schemas, var.resources.geo_city_database, var.resources.geo_isp_database, var.resources.geo_city_filter, var.resources.scrubber_rules] : object_name == ""
    ])
    error_message = "resources object names need resources.bucket."
  }
}

variable "service" {
  description = <<-EOT
    Size and limits of the function. Each instance takes one request at a time (a chunk task is
    CPU-bound decoding), so max_instances bounds the chunks decoding at once and must exceed
    queue.max_concurrent_dispatches, leaving instances for status and cancel requests.
    timeout_seconds: at least queue.dispatch_deadline_seconds (HTTP functions allow up to 3600).
    ingress_settings: ALLOW_INTERNAL_ONLY admits Cloud Tasks and callers inside the project's VPC
    (Cloud Shell, a bastion, the migration job); ALLOW_ALL lets operators call it from anywhere,
    still only with an identity token of an invoker.
    build_service_account: the account Cloud Build uses (projects/P/serviceAccounts/EMAIL); null for the default.
  EOT
  type = object({
    min_instances         = optional(number, 0)
    max_instances         = optional(number, 60)
    available_cpu         = optional(string, "1")
    available_memory      = optional(string, "1Gi")
    timeout_seconds       = optional(number, 1800)
    ingress_settings      = optional(string, "ALLOW_INTERNAL_ONLY")
    build_service_account = optional(string)
  })
  default = {}

  validation {
    condition     = var.service.min_instances >= 0 && var.service.max_instances >= 2 && var.service.min_instances <= var.service.max_instances && var.service.timeout_seconds >= 15 && var.service.timeout_seconds <= 3600
    error_message = "service needs 0 <= min_instances <= max_instances, max_instances >= 2, timeout_seconds 15-3600."
  }

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.service.ingress_settings)
    error_message = "service.ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "function_source" {
  description = "The zip built by terraform/scripts/package_function.py --function backfill, already uploaded: its bucket and object."
  type = object({
    bucket = string
    object = string
  })
}
