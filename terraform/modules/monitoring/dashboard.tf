# One dashboard per environment: the flow (raw in -> decoded/error out -> loaded), latency, and
# what the bill is made of. Every chart is a PromQL query; the log-based metrics are in metrics.tf.

locals {
  raw_topic      = "pubsub_googleapis_com:topic_send_message_operation_count{monitored_resource=\"pubsub_topic\", topic_id=\"${var.decoder.raw_topic}\"}"
  decoded_topics = "pubsub_googleapis_com:topic_send_message_operation_count{monitored_resource=\"pubsub_topic\", topic_id=~\"${join("|", var.decoder.decoded_topics)}\"}"
  error_topic    = "pubsub_googleapis_com:topic_send_message_operation_count{monitored_resource=\"pubsub_topic\", topic_id=\"${var.decoder.error_topic}\"}"
  services       = join("|", [for function in values(local.functions) : function.name])
  run_resource   = "monitored_resource=\"cloud_run_revision\", service_name=~\"${local.services}\""

  # title => PromQL queries (one line each), in reading order.
  charts = merge(
    {
      "01 Flow: raw in, decoded and error out (messages/s)" = [
        "sum(rate(${local.raw_topic}[5m]))",
        "sum(rate(${local.decoded_topics}[5m]))",
        "sum(rate(${local.error_topic}[5m]))",
      ]
      "02 Decoder outcomes (messages/s)" = [
        "sum by (outcome) (rate(${local.promql.decoder_messages}[5m]))",
      ]
      "03 Decoder errors by error_type (messages/s)" = [
        "sum by (error_type) (rate(${local.promql.decoder_messages}{outcome=\"error\"}[5m]))",
      ]
      "04 Oldest unacked message (s)" = [
        "max by (subscription_id) (pubsub_googleapis_com:subscription_oldest_unacked_message_age{monitored_resource=\"pubsub_subscription\", subscription_id=~\"${join("|", values(local.backlog_subscriptions))}\"})",
      ]
      "05 Dead-lettered messages waiting" = [
        "max by (subscription_id) (pubsub_googleapis_com:subscription_num_undelivered_messages{monitored_resource=\"pubsub_subscription\", subscription_id=~\"${join("|", values(local.dead_letter_subscriptions))}\"})",
      ]
      "06 Request latency p50 and p99 (ms)" = [
        "histogram_quantile(0.5, sum by (service_name, le) (rate(run_googleapis_com:request_latencies_bucket{${local.run_resource}}[5m])))",
        "histogram_quantile(0.99, sum by (service_name, le) (rate(run_googleapis_com:request_latencies_bucket{${local.run_resource}}[5m])))",
      ]
      "07 Instances (cost: billed per instance-second)" = [
        "sum by (service_name) (run_googleapis_com:container_instance_count{${local.run_resource}})",
      ]
      "08 Dedup results and Firestore operations (per s)" = [
        "sum by (result) (rate(${local.promql.decoder_dedup}[5m]))",
        "sum(rate(firestore_googleapis_com:document_read_count{monitored_resource=\"firestore_instance\"}[5m]))",
        "sum(rate(firestore_googleapis_com:document_write_count{monitored_resource=\"firestore_instance\"}[5m]))",
        "sum(rate(firestore_googleapis_com:document_delete_count{monitored_resource=\"firestore_instance\"}[5m]))",
      ]
      "09 Pub/Sub bytes billed (per s)" = [
        "sum by (topic_id) (rate(pubsub_googleapis_com:topic_byte_cost{monitored_resource=\"pubsub_topic\"}[5m]))",
      ]
    },
    var.loader == null ? {} : {
      "10 Loaded: messages and objects written (per s)" = [
        "sum by (service_name, result) (rate(${local.promql.loader_messages}[5m]))",
        "sum by (service_name, result) (rate(${local.promql.loader_objects}[5m]))",
      ]
      "11 Loaded bytes (per s)" = [
        "sum by (service_name) (rate(${local.promql.loader_bytes}[5m]))",
      ]
    },
    var.backfill == null ? {} : {
      "12 Backfill chunks ended, by state (per min)" = [
        "sum by (state) (rate(${local.promql.backfill_chunks}[10m])) * 60",
      ]
    },
  )

  chart_titles = sort(keys(local.charts))
}

resource "google_monitoring_dashboard" "pipeline" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "${var.name}: ingestion pipeline"
    mosaicLayout = {
      columns = 48
      tiles = [
        for index, title in local.chart_titles : {
          xPos   = (index % 2) * 24
          yPos   = floor(index / 2) * 16
          width  = 24
          height = 16
          widget = {
            title = trimprefix(title, regex("^[0-9]+ ", title))
            xyChart = {
              dataSets = [
                for query in local.charts[title] : {
                  plotType        = "LINE"
                  timeSeriesQuery = { prometheusQuery = query }
                }
              ]
            }
          }
        }
      ]
    }
  })
}
