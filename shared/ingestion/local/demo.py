"""``make run``: the decoder function end to end on this machine.

Starts the official Pub/Sub and Firestore emulators and the ``decode`` function under
functions-framework, creates the raw, decoded, error and debug topics and a push subscription
from the raw topic to the function, publishes the project's sample raw messages (a repeated uri
only after its first copy was accounted for, so that it is a duplicate), waits until every
message is accounted for, prints what arrived on each topic, and stops everything it started,
also on Ctrl-C. Without the emulators it says how to install them and runs the embedded
``ingestion decode`` on the same messages instead.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..adapters.files import message_from_line, read_lines
from ..core.message import Message
from ..resources.demo_geoip import build_demo_city_db, build_demo_isp_db
from .services import (
    DEFAULT_SDK_ROOT,
    ServiceUnavailable,
    firestore_emulator,
    functions_framework,
    pubsub_emulator,
    running,
)

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "samples" / "raw-messages.ndjson"
FUNCTION_SOURCE = REPO / "functions" / "decoder" / "main.py"
PROJECT = "demo-project"
TOPICS = {"raw": "raw", "decoded": "decoded", "error": "decoder-errors", "debug": "decoder-debug"}


def waves(messages: Sequence[Message]) -> list[list[Message]]:
    """Messages in publishing waves: a repeated uri waits for the wave after its first copy."""
    result: list[list[Message]] = []
    seen: collections.Counter[str] = collections.Counter()
    for message in messages:
        uri = message.attributes.get("uri", "")
        wave = seen[uri] if uri else 0
        seen[uri] += 1
        while len(result) <= wave:
            result.append([])
        result[wave].append(message)
    return result


def _pull_all(subscriber: Any, subscription: str) -> list[Any]:
    received: list[Any] = []
    while True:
        response = subscriber.pull(
            request={"subscription": subscription, "max_messages": 500}, timeout=5
        )
        if not response.received_messages:
            return received
        subscriber.acknowledge(
            request={
                "subscription": subscription,
                "ack_ids": [m.ack_id for m in response.received_messages],
            }
        )
        received += [m.message for m in response.received_messages]


def _drops_logged(log_path: Path) -> int:
    if not log_path.exists():
        return 0
    return sum(
        1 for line in log_path.read_text(errors="replace").splitlines()
        if '"message dropped by a scrubber rule"' in line
    )  # fmt: skip


def run_with_emulators(workdir: Path, messages: list[Message], timeout: float) -> int:
    from google.cloud import pubsub_v1

    geo = workdir / "geoip"
    city, isp = build_demo_city_db(geo / "demo-city.mmdb"), build_demo_isp_db(geo / "demo-isp.mmdb")
    pubsub, firestore = pubsub_emulator(workdir), firestore_emulator(workdir)
    with running(pubsub, firestore):
        os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
        function = functions_framework(
            FUNCTION_SOURCE,
            "decode",
            workdir,
            signature_type="http",
            env={
                "PYTHONPATH": str(REPO / "shared"),
                "GOOGLE_CLOUD_PROJECT": PROJECT,
                "PUBSUB_EMULATOR_HOST": pubsub.host,
                "FIRESTORE_EMULATOR_HOST": firestore.host,
                "DECODED_TOPIC": TOPICS["decoded"],
                "ERROR_TOPIC": TOPICS["error"],
                "DEBUG_TOPIC": TOPICS["debug"],
                "GEO_CITY_DATABASE": str(city),
                "GEO_ISP_DATABASE": str(isp),
                "INPUT_NAME": f"projects/{PROJECT}/subscriptions/raw-push",
                "LOG_LEVEL": "INFO",
            },
        )
        publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
        topic = {kind: publisher.topic_path(PROJECT, name) for kind, name in TOPICS.items()}
        pulls = {}
        for kind, path in topic.items():
            publisher.create_topic(name=path)
            if kind != "raw":
                pulls[kind] = subscriber.subscription_path(PROJECT, f"{TOPICS[kind]}-pull")
                subscriber.create_subscription(name=pulls[kind], topic=path)
        with running(function):
            subscriber.create_subscription(
                name=subscriber.subscription_path(PROJECT, "raw-push"),
                topic=topic["raw"],
                push_config={"push_endpoint": f"http://{function.host}/"},
                ack_deadline_seconds=60,
            )
            arrived: dict[str, list] = {kind: [] for kind in pulls}
            accounted, started = 0, time.monotonic()
            for wave in waves(messages):
                for message in wave:
                    publisher.publish(topic["raw"], message.payload, **message.attributes).result()
                accounted += len(wave)
                while True:
                    for kind, subscription in pulls.items():
                        arrived[kind] += _pull_all(subscriber, subscription)
                    inputs_seen = len(arrived["decoded"]) + len(arrived["error"])
                    if inputs_seen + _drops_logged(function.log_path) >= accounted:
                        break
                    if time.monotonic() - started > timeout:
                        print(f"timed out: {inputs_seen} of {accounted} accounted for; "
                              f"see {function.log_path}", file=sys.stderr)  # fmt: skip
                        return 1
                    time.sleep(0.2)
            print_summary(arrived, _drops_logged(function.log_path), len(messages))
            print(f"\nlogs of every service: {workdir}")
    return 0


def print_summary(arrived: dict[str, list], drops: int, inputs: int) -> None:
    print(f"\n{messages_word(inputs)} published to the raw topic; what arrived:\n")
    print(f"{'topic':<16} {'outcome':<36} {'count':>6}")
    print(f"{'-' * 16} {'-' * 36} {'-' * 6}")
    for kind in ("decoded", "error", "debug"):
        by_outcome: collections.Counter[str] = collections.Counter()
        for message in arrived.get(kind, []):
            attributes = dict(message.attributes)
            if "error_type" in attributes:
                by_outcome[f"error: {attributes['error_type']}"] += 1
            else:
                ns, dt = attributes.get("document_namespace"), attributes.get("document_type")
                by_outcome[f"{ns}/{dt}"] += 1
        for outcome, count in sorted(by_outcome.items()):
            print(f"{TOPICS[kind]:<16} {outcome:<36} {count:>6}")
    print(f"{'(none)':<16} {'dropped by a scrubber rule':<36} {drops:>6}")
    example = next(iter(arrived.get("decoded", [])), None)
    if example is not None:
        payload = example.data
        if example.attributes.get("content_encoding") == "gzip" or payload[:2] == b"\x1f\x8b":
            payload = gzip.decompress(payload)
        print("\none decoded payload:", json.dumps(json.loads(payload))[:400], "...")


def messages_word(count: int) -> str:
    return f"{count} message" + ("s" if count != 1 else "")


def run_embedded(workdir: Path) -> int:
    from ..cli import main as cli_main

    geo = workdir / "geoip"
    city, isp = build_demo_city_db(geo / "demo-city.mmdb"), build_demo_isp_db(geo / "demo-isp.mmdb")
    return cli_main(
        ["decode", str(SAMPLES), "--output", str(workdir / "out"),
         "--geo-city-db", str(city), "--geo-isp-db", str(isp)]
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--sdk-root", type=Path, default=DEFAULT_SDK_ROOT)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ingestion-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # Lines that are not messages cannot travel through Pub/Sub; the embedded run shows them.
    messages = [message_from_line(line) for line in read_lines(SAMPLES) if _readable(line)]
    try:
        pubsub_emulator(workdir, args.sdk_root), firestore_emulator(workdir, args.sdk_root)
    except ServiceUnavailable as exc:
        print(f"emulators unavailable: {exc}\nfalling back to the embedded decoder:\n")
        return run_embedded(workdir)
    try:
        return run_with_emulators(workdir, messages, args.timeout)
    except KeyboardInterrupt:
        print("\ninterrupted; every service was stopped", file=sys.stderr)
        return 130


def _readable(line: bytes) -> bool:
    try:
        message_from_line(line)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
