# Deduplication documents: one per delivered uri, with its expiry Timestamp in the TTL field.
# Firestore deletes expired documents typically within 24 hours of expiry, and they stay visible
# until then, so the decoder compares the expiry itself; the TTL policy only keeps the collection
# from growing (each deletion is billed as a document delete).

resource "google_firestore_database" "dedup" {
  count = local.use_firestore && var.firestore.create_database ? 1 : 0

  project     = var.project_id
  name        = var.firestore.database
  location_id = var.firestore.location
  type        = "FIRESTORE_NATIVE"

  # The database may hold other data: destroying the decoder leaves it in place.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.enabled]
}

resource "google_firestore_field" "dedup_expiry" {
  count = local.use_firestore ? 1 : 0

  project    = var.project_id
  database   = var.firestore.database
  collection = var.firestore.collection
  field      = var.firestore.ttl_field

  ttl_config {}

  # An empty index_config removes the single-field indexes: nothing queries by expiry, and
  # indexing a field that grows with time costs a write per document and hot-spots the index.
  index_config {}

  depends_on = [google_project_service.enabled, google_firestore_database.dedup]
}

# The other fields of the dedup documents (the uri, kept for debugging) are never queried either.
resource "google_firestore_field" "dedup_unindexed" {
  for_each = local.use_firestore ? toset(var.firestore.unindexed_fields) : toset([])

  project    = var.project_id
  database   = var.firestore.database
  collection = var.firestore.collection
  field      = each.value

  index_config {}

  depends_on = [google_project_service.enabled, google_firestore_database.dedup]
}
