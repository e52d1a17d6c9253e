"""Write ``samples/raw-messages.ndjson``: raw edge messages that exercise every decoder outcome.

Run ``python samples/make_samples.py`` after changing it; the output is committed so that
``make run`` needs no generation step. Addresses are from the documentation ranges
(RFC 5737 / RFC 3849), which the demo GeoIP database built by ``make run`` covers.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIREFOX_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
GLEAN_UA = "Glean/61.2.0 (Kotlin on Android)"
CLIENT = "2907648d-711b-4e9f-94b5-52a2b40a44b1"


def edge(
    uri: str,
    *,
    xff: str = "203.0.113.7, 10.1.2.3, 35.191.7.8",
    ua: str = GLEAN_UA,
    ts: str = "2026-11-20T10:15:30.123456Z",
    **extra: str,
) -> dict[str, str]:
    attributes = {
        "submission_timestamp": ts,
        "uri": uri,
        "protocol": "HTTP/1.1",
        "method": "POST",
        "args": "",
        "host": "incoming.telemetry.example",
        "remote_addr": "10.1.2.3",
        "x_forwarded_for": xff,
        "user_agent": ua,
        "date": "Fri, 20 Nov 2026 10:15:30 GMT",
    }
    attributes.update(extra)
    return attributes


def line(attributes: dict[str, str], body: bytes, comment: str) -> str:
    return json.dumps(
        {
            "attributeMap": attributes,
            "payload": base64.b64encode(body).decode(),
            "_comment": comment,
        },
        sort_keys=True,
    )


def glean(client: str = CLIENT, **more: Any) -> dict[str, Any]:
    ping = {
        "client_info": {
            "client_id": client.upper(),
            "app_channel": "release",
            "app_display_version": "132.0",
            "os": "Android",
            "os_version": "14",
            "telemetry_sdk_build": "61.2.0",
        },
        "ping_info": {
            "seq": 4,
            "start_time": "2026-11-20T10:00:00+00:00",
            "end_time": "2026-11-20T10:15:00+00:00",
            "reason": "active",
        },
    }
    ping.update(more)
    return ping


def body(value: Any, *, gzipped: bool = False) -> bytes:
    raw = json.dumps(value).encode()
    return gzip.compress(raw, mtime=0) if gzipped else raw


def samples() -> list[str]:
    base = "/submit/org-example-app"
    doc = "8f0c1d3e-7a62-4b8e-9d51-0c2f6a7b8e{:02d}"
    out = [
        line(
            edge(f"{base}/baseline/1/{doc.format(1)}"),
            body(glean(), gzipped=True),
            "valid Glean baseline, gzipped",
        ),
        line(
            edge(f"{base}/baseline/1/{doc.format(1)}"),
            body(glean(), gzipped=True),
            "the same uri again: Duplicate, metadata only",
        ),
        line(
            edge(f"{base}/baseline/1/{doc.format(2)}", xff="2001:db8::1, 10.1.2.3, 35.191.7.8"),
            body(glean(metrics={"counter": {"app.opened": 3}})),
            "IPv6 client, uncompressed",
        ),
        line(
            edge(f"{base}/events/1/{doc.format(3)}", x_debug_id="demo-session"),
            body(
                glean(
                    events=[
                        {
                            "timestamp": 0,
                            "category": "nav",
                            "name": "click",
                            "extra": {"target": "home"},
                        }
                    ]
                ),
                gzipped=True,
            ),
            "events with an x_debug_id: also copied to the debug topic",
        ),
        line(
            edge(f"{base}/topsites-impression/1/{doc.format(4)}", ua=FIREFOX_UA),
            body(
                {
                    "context_id": "{0f8e7a1c-5d2b-4c3a-9e8f-7a6b5c4d3e2f}",
                    "position": 2,
                    "source": "newtab",
                }
            ),
            "sanitised: seconds granularity, geo_city removed",
        ),
        line(
            edge(
                "/submit/telemetry/6c49ec73-4350-45a0-9c8a-6c8f5aff0f05/event/Firefox/132.0/"
                "release/20261028094500",
                ua=FIREFOX_UA,
                x_pingsender_version="1.0",
            ),
            body(
                {
                    "type": "event",
                    "id": "6c49ec73-4350-45a0-9c8a-6c8f5aff0f05",
                    "creationDate": "2026-11-20T10:15:29.000Z",
                    "version": 4,
                    "clientId": "{" + CLIENT + "}",
                    "application": {
                        "name": "Firefox",
                        "version": "132.0",
                        "channel": "release",
                        "buildId": "20261028094500",
                    },
                    "environment": {"system": {"os": {"name": "Windows_NT", "version": "10.0"}}},
                    "payload": {"reason": "periodic", "events": {"parent": [[0, "nav", "open"]]}},
                },
                gzipped=True,
            ),
            "telemetry event",
        ),
        line(
            edge(
                "/stub/v8/release/release/en-US/1/1/10/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/"
                "0/0/0/0/0/0/0/0/0/0/0/0",
                ua=FIREFOX_UA,
                message_id="1234567890",
                method="GET",
            ),
            b"",
            "stub installer ping",
        ),
        line(
            edge(
                "/stub/v8/release/release/en-US/1/1/10/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/"
                "0/0/0/0/0/0/0/0/0/0/0/0",
                ua=FIREFOX_UA,
                message_id="1234567891",
                method="GET",
            ),
            b"",
            "the same stub uri: never deduplicated",
        ),
        line(
            edge("/submit/telemetry/main/Firefox/61.0a1/nightly/20180328030202"),
            b"",
            "ParseUri: a telemetry uri missing its document id",
        ),
        line(edge("/upload/unknown/place"), body({}), "ParseUri: unknown prefix"),
        line(edge("/submit/sslreports"), body({}), "ParseUri: unwanted data (scrubber U1)"),
        line(edge(f"{base}/baseline/1/not-a-uuid"), body(glean()), "ParseUri: bad document id"),
        line(
            edge(f"{base}/baseline/1/{doc.format(5)}"),
            b'{"client_info": ',
            "ParsePayload: truncated JSON",
        ),
        line(
            edge(f"{base}/baseline/1/{doc.format(6)}"),
            body([1, 2, 3]),
            "ParsePayload: JSON that is not an object",
        ),
        line(
            edge(f"{base}/events/1/{doc.format(7)}"),
            body(glean(), gzipped=True),
            "ParsePayload: schema violation (no events)",
        ),
        line(
            edge(f"{base}/no-such-type/1/{doc.format(8)}"),
            body({}),
            "ParsePayload: unknown docType",
        ),
        line(
            edge(f"{base}/baseline/1/{doc.format(9)}"),
            gzip.compress(b"{" * 10, mtime=0)[:-6],
            "ParsePayload: truncated gzip passes through and fails to parse",
        ),
        line(
            edge(f"{base}/baseline/1/{doc.format(10)}"),
            gzip.compress(b" " * (9 * 1024 * 1024), compresslevel=9, mtime=0),
            "LimitPayloadSize: a 9 MiB gzip bomb",
        ),
        line(
            edge(f"{base}/account-ecosystem/1/{doc.format(11)}"),
            body({}),
            "dropped by the scrubber (S4)",
        ),
        line(
            edge(f"/submit/org-mozilla-fenix-debug/baseline/1/{doc.format(12)}"),
            body(glean()),
            "ParsePayload: unwanted namespace (scrubber S8)",
        ),
    ]
    out.append('{"payload": "not base64!"}')  # unreadable line: DecodePubsubMessages error
    return out


def main() -> None:
    target = HERE / "raw-messages.ndjson"
    target.write_text("\n".join(samples()) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
