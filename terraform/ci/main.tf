# The two Cloud Build triggers of cloudbuild.yaml: every push to main tests, plans both
# environments and applies dev; the same push also queues the prod build, which waits for an
# approval (Cloud Build "approval required": someone with roles/cloudbuild.builds.approver
# approves it in the console or with `gcloud builds approve BUILD_ID`) before it even starts.

provider "google" {
  project = var.project_id
}

resource "google_cloudbuild_trigger" "dev" {
  name            = "ingestion-dev"
  location        = var.region
  description     = "Test, plan dev and prod, apply dev."
  filename        = "cloudbuild.yaml"
  service_account = var.service_account

  repository_event_config {
    repository = var.repository.id
    push {
      branch = var.repository.branch
    }
  }

  substitutions = {
    _ENV          = "dev"
    _DEV_PROJECT  = var.projects.dev
    _PROD_PROJECT = var.projects.prod
  }
}

resource "google_cloudbuild_trigger" "prod" {
  name            = "ingestion-prod"
  location        = var.region
  description     = "Test, plan dev and prod, apply prod: only once approved."
  filename        = "cloudbuild.yaml"
  service_account = var.service_account

  repository_event_config {
    repository = var.repository.id
    push {
      branch = var.repository.branch
    }
  }

  approval_config {
    approval_required = true
  }

  substitutions = {
    _ENV          = "prod"
    _DEV_PROJECT  = var.projects.dev
    _PROD_PROJECT = var.projects.prod
  }
}
