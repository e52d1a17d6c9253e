"""The backfill function's HTTP surface: method + path + body in, status + JSON out.

    POST /backfills                          start (202), dry run (200), resume (202)
    GET  /backfills/{run_id}                 status
    POST /backfills/{run_id}:cancel          cancel
    POST /backfills/{run_id}/chunks/{id}     one chunk task (Cloud Tasks)
    POST /backfills:push                     one chunk task (Pub/Sub push envelope)

A refused request is a 4xx with ``{"error": "<one-line reason>"}``; a failure that is not the
request's fault is a 503 (a transient store or dispatch failure: Cloud Tasks retries a chunk
task) or a 500 with a fixed one-line reason. No traceback ever reaches the caller; the log
line has it.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from typing import Any

import orjson

from ..adapters.storage.objects import ObjectStoreError
from ..core.errors import TransientFailure
from .request import RequestError, parse_body, parse_request
from .service import Backfill

log = logging.getLogger("ingestion.backfill")
CHUNK_ENDED = "backfill chunk ended"

_ID = r"[a-z0-9][a-z0-9-]{0,62}"
_STATUS = re.compile(rf"/backfills/({_ID})")
_CANCEL = re.compile(rf"/backfills/({_ID}):cancel")
_CHUNK = re.compile(rf"/backfills/({_ID})/chunks/([0-9a-f]{{24}})")
_CHUNK_BODY = re.compile(r"[0-9a-f]{24}")
Answer = tuple[int, dict[str, Any]]


def _transient_errors() -> tuple[type[BaseException], ...]:
    from google.api_core.exceptions import GoogleAPIError

    return (TransientFailure, ObjectStoreError, GoogleAPIError, ConnectionError, TimeoutError)


class BackfillHandler:
    def __init__(self, backfill: Backfill) -> None:
        self.backfill = backfill

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        status, answer = self._answer(method, path.rstrip("/") or "/", body)
        return status, orjson.dumps(answer)

    def _answer(self, method: str, path: str, body: bytes) -> Answer:
        try:
            return self._route(method, path, body)
        except RequestError as exc:
            return exc.status, {"error": exc.reason}
        except _transient_errors() as exc:
            log.warning("backfill request failed, retry later", exc_info=True)
            return 503, {"error": f"temporarily unavailable: {type(exc).__name__}"}
        except Exception:
            log.exception("backfill request failed", extra={"path": path[:200]})
            return 500, {"error": "internal error (logged)"}

    def _route(self, method: str, path: str, body: bytes) -> Answer:
        if path == "/backfills":
            _expect(method, "POST")
            return self.backfill.start(parse_request(parse_body(body)))
        if path == "/backfills:push":
            _expect(method, "POST")
            return self._chunk(*_pushed_chunk(body))
        if match := _CANCEL.fullmatch(path):
            _expect(method, "POST")
            return 200, self.backfill.cancel(match.group(1))
        if match := _CHUNK.fullmatch(path):
            _expect(method, "POST")
            return self._chunk(match.group(1), match.group(2))
        if match := _STATUS.fullmatch(path):
            _expect(method, "GET")
            return 200, self.backfill.status(match.group(1))
        raise RequestError(404, "no such endpoint (see docs/backfill.md)")

    def _chunk(self, run_id: str, chunk_id: str) -> Answer:
        result = self.backfill.run_chunk(run_id, chunk_id)
        if result.outcome == "unknown":
            raise RequestError(404, f"run {run_id!r} has no chunk {chunk_id!r}")
        # One line per chunk task that ended: the backfill_chunks metric counts them by state
        # (terraform/modules/monitoring), and the failed-chunks alert reads it.
        log.info(
            CHUNK_ENDED,
            extra={"run_id": run_id, "chunk_id": chunk_id, "state": result.outcome},
        )
        return 200, {"outcome": result.outcome, "position": result.position}


def _expect(method: str, allowed: str) -> None:
    if method != allowed:
        raise RequestError(405, f"method {method[:10]!r} not allowed here (use {allowed})")


def _pushed_chunk(body: bytes) -> tuple[str, str]:
    """The run and chunk of a Pub/Sub push envelope whose data is ``{"run_id", "chunk_id"}``."""
    envelope = parse_body(body)
    message = envelope.get("message")
    data = message.get("data") if isinstance(message, dict) else None
    try:
        task = orjson.loads(base64.b64decode(data or "", validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise RequestError(400, "push message data is not base64 JSON") from None
    if not isinstance(task, dict):
        raise RequestError(400, "push message data is not a chunk task")
    run_id, chunk_id = task.get("run_id"), task.get("chunk_id")
    if not (isinstance(run_id, str) and re.fullmatch(_ID, run_id)):
        raise RequestError(400, "push message has no valid run_id")
    if not (isinstance(chunk_id, str) and _CHUNK_BODY.fullmatch(chunk_id)):
        raise RequestError(400, "push message has no valid chunk_id")
    return run_id, chunk_id
