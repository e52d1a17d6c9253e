"""``make run``: the whole path end to end on this machine, raw -> decoder -> decoded/error
topics -> loaders -> buckets.

Starts the official Pub/Sub and Firestore emulators and the ``decode`` function under
functions-framework, creates the raw, decoded, error and debug topics and a push subscription
from the raw topic to the function; then fake-gcs-server with the registry in a bucket and two
``load`` functions fed by the decoded and the error topic (``demo_loader``). It publishes the
project's sample raw messages (a repeated uri only after its first copy was accounted for, so
that it is a duplicate), waits until every message is accounted for and stored, prints what
arrived on each topic, what the registry resolves for the sources (objects per partition) and one
record read back through ``Dataset.records()``, and stops everything it started, also on Ctrl-C.
Without the emulators it says how to install them and runs the embedded ``ingestion decode`` on
the same messages instead.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gzip
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..adapters.file_reader import read_lines
from ..core.lines import read_line
from ..core.message import Message
from .demo_geoip import build_demo_city_db, build_demo_isp_db
from .demo_loader import LoaderDemo, loaders_running
from .services import (
    DEFAULT_SDK_ROOT,
    ServiceUnavailable,
    firestore_emulator,
    pubsub_emulator,
    running,
)
from .topology import (
    SHARED,
    Topics,
    Topology,
    decoder_function,
    emulators_running,
    function_environment,
)

SAMPLES = SHARED.parent / "samples" / "raw-messages.ndjson"
PROJECT = "demo-project"
TOPOLOGY = Topology(PROJECT)  # the deployed function's topic names


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


def _drops_logged(log_path: Path) -> int:
    if not log_path.exists():
        return 0
    return sum(
        1 for line in log_path.read_text(errors="replace").splitlines()
        if '"message dropped by a scrubber rule"' in line
    )  # fmt: skip


def run_with_emulators(
    workdir: Path, messages: list[Message], timeout: float, sdk_root: Path
) -> int:
    geo = workdir / "geoip"
    city, isp = build_demo_city_db(geo / "demo-city.mmdb"), build_demo_isp_db(geo / "demo-isp.mmdb")
    with emulators_running(workdir, sdk_root):
        env = function_environment(
            TOPOLOGY, geo_city_database=city, geo_isp_database=isp, log_level="INFO"
        )
        function = decoder_function(workdir, env)
        topics = Topics(TOPOLOGY)
        with running(function), contextlib.ExitStack() as stack:
            topics.push_to(function, ack_deadline=60)
            loaders = start_loaders(stack, workdir, topics)
            arrived: dict[str, list] = {kind: [] for kind in TOPOLOGY.outputs}
            accounted, started = 0, time.monotonic()
            for wave in waves(messages):
                for future in topics.publish(wave):
                    future.result()
                accounted += len(wave)
                while True:
                    for kind in TOPOLOGY.outputs:
                        arrived[kind] += topics.pull(kind)
                    inputs_seen = len(arrived["decoded"]) + len(arrived["error"])
                    if inputs_seen + _drops_logged(function.log_path) >= accounted:
                        break
                    if time.monotonic() - started > timeout:
                        print(f"timed out: {inputs_seen} of {accounted} accounted for; "
                              f"see {function.log_path}", file=sys.stderr)  # fmt: skip
                        return 1
                    time.sleep(0.2)
            print_summary(arrived, _drops_logged(function.log_path), len(messages))
            if loaders is not None:
                expected = len(arrived["decoded"]) + len(arrived["error"])
                if not wait_until_stored(loaders, expected, started + timeout):
                    return 1
                loaders.report()
            print(f"\nlogs of every service: {workdir}")
    return 0


def start_loaders(stack: contextlib.ExitStack, workdir: Path, topics: Topics) -> LoaderDemo | None:
    """The loader half of the path (decoded/error topics -> loaders -> buckets), or None with a
    note when fake-gcs-server is missing."""
    try:
        return stack.enter_context(loaders_running(workdir, topics))
    except ServiceUnavailable as exc:
        print(f"loaders skipped: {exc}")
        return None


def wait_until_stored(loaders: LoaderDemo, expected: int, deadline: float) -> bool:
    while (stored := loaders.stored()) < expected:
        if time.monotonic() > deadline:
            print(f"timed out: {stored} of {expected} messages stored", file=sys.stderr)
            return False
        time.sleep(0.5)
    print(f"\nthe loaders stored all {expected} decoded and error messages in their buckets")
    return True


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
            print(f"{TOPOLOGY.name(kind):<16} {outcome:<36} {count:>6}")
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
    """``ingestion decode`` on the samples, in its own process as a user would run it."""
    geo = workdir / "geoip"
    city, isp = build_demo_city_db(geo / "demo-city.mmdb"), build_demo_isp_db(geo / "demo-isp.mmdb")
    sys.stdout.flush()  # what this process printed comes before the command's output
    command = [
        sys.executable, "-m", "ingestion.cli", "decode", str(SAMPLES),
        "--output", str(workdir / "out"), "--geo-city-db", str(city), "--geo-isp-db", str(isp),
    ]  # fmt: skip
    return subprocess.run(command, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--sdk-root", type=Path, default=DEFAULT_SDK_ROOT)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ingestion-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # Lines that are not messages cannot travel through Pub/Sub; the embedded run shows them.
    messages = [m for m in map(read_line, read_lines(SAMPLES)) if isinstance(m, Message)]
    try:
        pubsub_emulator(workdir, args.sdk_root), firestore_emulator(workdir, args.sdk_root)
    except ServiceUnavailable as exc:
        print(f"emulators unavailable: {exc}\nfalling back to the embedded decoder:\n")
        return run_embedded(workdir)
    try:
        return run_with_emulators(workdir, messages, args.timeout, args.sdk_root)
    except KeyboardInterrupt:
        print("\ninterrupted; every service was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
