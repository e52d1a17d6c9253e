# One environment of the pipeline: terraform/modules/pipeline with this environment's values
# (terraform.tfvars; the project on the command line, the state prefix in backend.hcl). Every
# environment has this same main.tf, variables.tf, outputs.tf and versions.tf (tests/terraform
# checks it): environments differ by values only.

provider "google" {
  project = var.project_id
  region  = var.region
}

module "pipeline" {
  source = "../../modules/pipeline"

  project_id       = var.project_id
  region           = var.region
  environment      = var.environment
  labels           = var.labels
  function_sources = var.function_sources
  decoder          = var.decoder
  loader           = var.loader
  backfill         = var.backfill
  alerts           = var.alerts
}
