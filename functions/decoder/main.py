"""Cloud Function entry point ``decode``: glue between the HTTP push request and the decoder.

Both an Eventarc CloudEvent and a raw Pub/Sub push body arrive here as HTTP requests; parsing,
decoding, publishing and deduplication live in the ``ingestion`` package.
"""

import os

import functions_framework
from flask import Request

from ingestion.entrypoints.decoder_function import instance


@functions_framework.http
def decode(request: Request) -> tuple[str, int]:
    status, text = instance(os.environ).handle(request.get_data(), request.headers)
    return text, status
