# terraform init -backend-config=backend.hcl -backend-config="bucket=<state bucket>"
prefix = "ingestion/prod"
