"""Cloud Function entry point ``load``: glue between the HTTP push request and the loader.

An ASGI function (functions-framework's ``aio``), like the decoder's: every request of an
instance runs on one event loop, so the messages of concurrent requests share objects. Parsing,
batching by partition and writing live in the ``ingestion`` package.
"""

import os

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from ingestion.entrypoints.loader_function import async_instance


@functions_framework.aio.http
async def load(request: Request) -> Response:
    function = await async_instance(os.environ)
    status, text = await function.handle(await request.body(), request.headers)
    return Response(text, status_code=status)
