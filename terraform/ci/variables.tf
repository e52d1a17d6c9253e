variable "project_id" {
  description = "The project Cloud Build runs in (its service account deploys both environments)."
  type        = string
}

variable "region" {
  description = "Region of the triggers (and of the repository connection)."
  type        = string
  default     = "global"
}

variable "repository" {
  description = <<-EOT
    The repository the triggers build, connected to Cloud Build beforehand (2nd gen repository
    connection): its resource id (projects/P/locations/L/connections/C/repositories/R) and branch.
  EOT
  type = object({
    id     = string
    branch = optional(string, "^main$")
  })
}

variable "projects" {
  description = "Projects of the environments (-var project_id of each plan)."
  type = object({
    dev  = string
    prod = string
  })
}

variable "service_account" {
  description = "The account builds run as (projects/P/serviceAccounts/EMAIL): it needs to deploy both environments."
  type        = string
}
