"""Structured-ingestion decoder: one message type flowing down an ordered list of steps."""
