"""Cloud Function entry point ``backfill``: glue between HTTP requests and the backfill.

A plain (WSGI) HTTP function: a chunk task is CPU-bound decoding, one per instance at a time
(Terraform sets the concurrency to 1). Routes, validation, planning, fan-out and chunk work live
in the ``ingestion`` package (``ingestion.backfill``); docs/backfill.md is the guide.
"""

import os

import flask
import functions_framework

from ingestion.entrypoints.backfill_function import instance


@functions_framework.http
def backfill(request: flask.Request) -> flask.Response:
    status, body = instance(os.environ).handle(request.method, request.path, request.get_data())
    return flask.Response(body, status=status, mimetype="application/json")
