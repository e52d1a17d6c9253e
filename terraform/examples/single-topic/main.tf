# One decoded topic: every decoded message, whatever its namespace and document type, is
# published to telemetry-decoded-<env>; consumers filter on the document_* attributes.

provider "google" {
  project = var.project_id
  region  = var.region
}

module "decoder" {
  source = "../../modules/decoder"

  project_id = var.project_id
  region     = var.region
  name       = "decoder-${var.environment}"
  labels     = { app = "ingestion-decoder", env = var.environment }

  topics = {
    raw     = "telemetry-raw-${var.environment}"
    decoded = "telemetry-decoded-${var.environment}"
    error   = "telemetry-errors-${var.environment}"
  }

  function_source = {
    zip_path = var.source_zip
  }

  # Until a schema tarball is uploaded, the decoder uses the schemas bundled in the source zip.
  # With GeoIP databases uploaded to the resources bucket, name them here:
  #   resources = {
  #     schemas           = "schemas/schemas.tar.gz"
  #     geo_city_database = "geoip/GeoIP2-City.mmdb"
  #     geo_isp_database  = "geoip/GeoIP2-ISP.mmdb"
  #     geo_city_filter   = "geoip/cities15000.txt"
  #   }
}
