"""A client of the deployed backfill function (``POST /backfills``, ``GET /backfills/{id}``,
``POST /backfills/{id}:cancel``), for ``ingestion backfill`` and the migration workflow.

The function is private: each call carries an OIDC identity token for the function's URL when
``token`` gives one (``identity_token`` fetches it from the ambient credentials), none for a
local ``http://`` function. A refused request is ``BackfillRefused`` with the function's one-line
reason (also for an answer that is not JSON); a failure of the call itself is an ``OSError``
(``requests``' errors are ones).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests


class BackfillRefused(ValueError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"backfill function answered {status}: {reason}")
        self.status = status


def identity_token(audience: str) -> str | None:
    """An identity token for ``audience`` from the ambient credentials (None for http://)."""
    if not audience.startswith("https://"):
        return None
    import google.auth.transport.requests
    import google.oauth2.id_token

    return str(
        google.oauth2.id_token.fetch_id_token(google.auth.transport.requests.Request(), audience)
    )


class BackfillClient:
    def __init__(
        self,
        url: str,
        *,
        token: Callable[[str], str | None] = identity_token,
        timeout: float = 60.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._session = session or requests.Session()

    def _headers(self) -> dict[str, str]:
        token = self._token(self.url)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _answer(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            reason = "the answer is not a JSON object" if response.ok else response.text[:200]
            raise BackfillRefused(response.status_code, reason)
        if response.status_code >= 400:
            raise BackfillRefused(response.status_code, str(body.get("error", ""))[:300])
        return body

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self._session.request(
            method, self.url + path, json=body, headers=self._headers(), timeout=self._timeout
        )
        return self._answer(response)

    def start(self, request: dict[str, Any]) -> dict[str, Any]:
        """Start (or resume, for a known ``run_id``) a run; with ``dry_run``, only plan it."""
        return self._call("POST", "/backfills", request)

    def status(self, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/backfills/{run_id}")

    def cancel(self, run_id: str) -> dict[str, Any]:
        return self._call("POST", f"/backfills/{run_id}:cancel")
