# The dedup marks of `"dedup": "run"` runs (one document per delivered uri, under the run) carry
# their expiry in expire_at; Firestore deletes them typically within a day of it. A TTL policy
# covers the collection group in the whole database, hence its specific name (backfill-marks).
# Runs and chunk documents (a few per run) are kept as the history of what was backfilled.

resource "google_firestore_field" "marks_expiry" {
  project    = var.project_id
  database   = var.firestore.database
  collection = "backfill-marks"
  field      = "expire_at"

  ttl_config {}

  # Nothing queries marks by expiry: no single-field index to write for each mark.
  index_config {}

  depends_on = [google_project_service.enabled]
}
