"""Cloud Function entry point ``decode``: glue between the HTTP push request and the decoder.

An ASGI function (functions-framework's ``aio``): every request of an instance runs on one
event loop, so the decoder's RPCs are shared across concurrent requests. Both an Eventarc
CloudEvent and a raw Pub/Sub push body arrive here as HTTP requests; parsing, decoding,
publishing and deduplication live in the ``ingestion`` package.
"""

import os

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from ingestion.entrypoints.decoder_function import async_instance


@functions_framework.aio.http
async def decode(request: Request) -> Response:
    function = await async_instance(os.environ)
    status, text = await function.handle(await request.body(), request.headers)
    return Response(text, status_code=status)
