# The same four inputs in every example, so that cloudbuild.yaml can deploy either one.

variable "project_id" {
  description = "Project to deploy the decoder into."
  type        = string
}

variable "region" {
  description = "Region of the function and the resources bucket."
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "Short environment name (dev, stage, prod): suffix of the function and topic names."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,8}$", var.environment))
    error_message = "environment must be 1-9 lowercase letters or digits, starting with a letter."
  }
}

variable "source_zip" {
  description = "The function source zip built by terraform/scripts/package_function.py."
  type        = string
  default     = "../../../build/decoder-source.zip"
}
