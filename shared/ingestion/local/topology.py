"""The decoder function's Pub/Sub topology on this machine, shared by ``make run``, the
function's integration tests and ``bench/function.py``.

One run of the function needs the same things wherever it runs locally:

- ``Topology``: the names of the raw, decoded, error and (optional) debug topics, a pull
  subscription ``<topic>-pull`` on each output topic, and the push subscription
  ``<raw>-push`` that delivers the raw topic to the function's endpoint;
- ``Topics``: a topology created on the Pub/Sub emulator, with the clients that publish to its raw
  topic and pull (and acknowledge) what arrived on its outputs;
- ``function_environment``: the function's environment, rendered from the settings table
  (``ingestion.settings.environ_for``) plus the few variables that are not settings;
- ``decoder_function``: the ``decode`` function under functions-framework over HTTP;
- ``emulators_running``: the official Pub/Sub and Firestore emulators, with this process's
  clients pointed at them;
- ``push_body``: the JSON a push subscription POSTs, for callers that post to the function
  directly.

The Google Cloud client libraries are imported only when a ``Topics`` is made, so importing this
module costs nothing where the emulators are not installed.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..core.message import Message
from ..settings import DecoderSettings, environ_for
from .services import (
    DEFAULT_SDK_ROOT,
    LocalService,
    firestore_emulator,
    functions_framework,
    pubsub_emulator,
    running,
)

SHARED = Path(__file__).resolve().parents[2]
FUNCTION_SOURCE = SHARED.parent / "functions" / "decoder" / "main.py"
KINDS = ("raw", "decoded", "error", "debug")
OUTPUTS = KINDS[1:]  # the topics the function publishes to, each pulled through "<name>-pull"
EMULATOR_VARIABLES = ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST")


@dataclasses.dataclass(frozen=True)
class Topology:
    """Topic names of one run, by kind; ``debug=""`` runs without a debug topic.

    The defaults are the deployed function's topic names. ``Topology.unique`` gives names no
    other run uses, so that tests and benchmark rounds can share one emulator.
    """

    project: str
    raw: str = "raw"
    decoded: str = "decoded"
    error: str = "decoder-errors"
    debug: str = "decoder-debug"

    @classmethod
    def unique(cls, project: str, label: str = "", *, debug: bool = True) -> Topology:
        """``[label-]kind-<random>`` for every kind (no debug topic unless ``debug``)."""
        suffix = uuid.uuid4().hex[:10]

        def name(kind: str) -> str:
            return "-".join(part for part in (label, kind, suffix) if part)

        return cls(
            project,
            raw=name("raw"),
            decoded=name("decoded"),
            error=name("error"),
            debug=name("debug") if debug else "",
        )

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this run has a topic for."""
        return tuple(kind for kind in KINDS if self.name(kind))

    @property
    def outputs(self) -> tuple[str, ...]:
        """The kinds of the topics the function publishes to in this run."""
        return tuple(kind for kind in OUTPUTS if self.name(kind))

    def name(self, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown topic kind {kind!r}: expected one of {', '.join(KINDS)}")
        return str(getattr(self, kind))

    def topic(self, kind: str) -> str:
        return f"projects/{self.project}/topics/{self.name(kind)}"

    def pull_subscription(self, kind: str) -> str:
        return f"projects/{self.project}/subscriptions/{self.name(kind)}-pull"

    @property
    def push_subscription(self) -> str:
        return f"projects/{self.project}/subscriptions/{self.raw}-push"

    def create(self, publisher: Any, subscriber: Any, kinds: Iterable[str] | None = None) -> None:
        """Create the topics of ``kinds`` (default: all), with a pull subscription on outputs."""
        for kind in self.kinds if kinds is None else kinds:
            publisher.create_topic(name=self.topic(kind))
            if kind in OUTPUTS:
                subscriber.create_subscription(
                    name=self.pull_subscription(kind), topic=self.topic(kind)
                )

    def push_to(self, subscriber: Any, host: str, ack_deadline: int = 60) -> str:
        """Create the push subscription from the raw topic to ``http://host/``; its path."""
        subscriber.create_subscription(
            name=self.push_subscription,
            topic=self.topic("raw"),
            push_config={"push_endpoint": f"http://{host}/"},
            ack_deadline_seconds=ack_deadline,
        )
        return self.push_subscription

    def settings(self) -> dict[str, str]:
        """The ``DecoderSettings`` fields this topology decides."""
        return {
            "project": self.project,
            "decoded_topic": self.decoded,
            "error_topic": self.error,
            "debug_topic": self.debug,
            "input_name": self.push_subscription,
        }


class Topics:
    """A ``Topology`` created on the Pub/Sub emulator, with the clients to use it.

    The clients find the emulator through ``PUBSUB_EMULATOR_HOST`` in this process's environment.
    """

    def __init__(self, topology: Topology, kinds: Iterable[str] | None = None) -> None:
        from google.cloud import pubsub_v1

        self.topology = topology
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        self.create(*(topology.kinds if kinds is None else kinds))

    def create(self, *kinds: str) -> None:
        """Create topics left out so far (an outage that ends, for instance)."""
        self.topology.create(self.publisher, self.subscriber, kinds)

    def topic(self, kind: str) -> str:
        return self.topology.topic(kind)

    def push_to(self, function: LocalService, ack_deadline: int = 60) -> str:
        return self.topology.push_to(self.subscriber, function.host, ack_deadline)

    def publish(self, messages: Iterable[Message]) -> list[Any]:
        """Publish ``messages`` to the raw topic; the publish futures, in order."""
        raw = self.topic("raw")
        return [self.publisher.publish(raw, m.payload, **m.attributes) for m in messages]

    def pull(self, kind: str, expected: int = 0, timeout: float = 30.0) -> list[Any]:
        """What arrived on the ``kind`` topic, acknowledged: waits up to ``timeout`` seconds for
        ``expected`` messages, then takes whatever else is there already."""
        return pull(self.subscriber, self.topology.pull_subscription(kind), expected, timeout)


def pull(subscriber: Any, subscription: str, expected: int = 0, timeout: float = 30.0) -> list[Any]:
    """At least ``expected`` messages of ``subscription`` (more if they are there), acknowledged.

    Waits (blocking pulls) until ``expected`` arrived or ``timeout`` passed, then drains what is
    already there with the emulator's ``return_immediately`` (which the client deprecates and
    warns about). ``expected=0`` only drains.
    """
    received: list[Any] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        request: dict[str, Any] = {"subscription": subscription, "max_messages": 1000}
        if len(received) >= expected or remaining <= 0:
            request["return_immediately"] = True  # only drain what is already there
        response = subscriber.pull(request=request, timeout=max(remaining, 1.0))
        if response.received_messages:
            subscriber.acknowledge(
                request={
                    "subscription": subscription,
                    "ack_ids": [m.ack_id for m in response.received_messages],
                }
            )
            received += [m.message for m in response.received_messages]
        elif request.get("return_immediately"):
            return received


def function_environment(
    topology: Topology,
    *,
    pubsub_host: str | None = None,
    firestore_host: str | None = None,
    **settings: object,
) -> dict[str, str]:
    """The environment of the ``decode`` function serving ``topology``.

    ``settings`` are further ``DecoderSettings`` fields (``dedup_backend="off"``,
    ``log_level="WARNING"``, ...; they win over the topology's); the variables come from the
    settings table. The emulator hosts default to this process's ``PUBSUB_EMULATOR_HOST`` and
    ``FIRESTORE_EMULATOR_HOST``.
    """
    return {
        "PYTHONPATH": str(SHARED),
        "PUBSUB_EMULATOR_HOST": pubsub_host or os.environ["PUBSUB_EMULATOR_HOST"],
        "FIRESTORE_EMULATOR_HOST": firestore_host or os.environ["FIRESTORE_EMULATOR_HOST"],
        **environ_for(DecoderSettings, **{**topology.settings(), **settings}),
    }


def decoder_function(log_dir: Path, env: dict[str, str], port: int | None = None) -> LocalService:
    """The ``decode`` function under functions-framework over HTTP, not started yet."""
    return functions_framework(
        FUNCTION_SOURCE, "decode", log_dir, env, signature_type="http", port=port
    )


@contextlib.contextmanager
def emulators_running(
    log_dir: Path, sdk_root: Path = DEFAULT_SDK_ROOT
) -> Iterator[tuple[LocalService, LocalService]]:
    """The Pub/Sub and Firestore emulators, started, with this process's clients pointed at them.

    Raises ``ServiceUnavailable`` when either is missing. On the way out both are stopped and
    the two variables are restored.
    """
    pubsub, firestore = pubsub_emulator(log_dir, sdk_root), firestore_emulator(log_dir, sdk_root)
    saved = {key: os.environ.get(key) for key in EMULATOR_VARIABLES}
    with running(pubsub, firestore):
        os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
        os.environ["FIRESTORE_EMULATOR_HOST"] = firestore.host
        try:
            yield pubsub, firestore
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def push_body(
    message: Message,
    message_id: str,
    subscription: str,
    publish_time: str = "2026-11-20T10:05:02Z",
) -> dict[str, Any]:
    """The JSON body a Pub/Sub push subscription POSTs for ``message``.

    Pub/Sub spells the message id and publish time both ways; so does this.
    """
    return {
        "message": {
            "data": base64.b64encode(message.payload).decode(),
            "attributes": message.attributes,
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": publish_time,
            "publish_time": publish_time,
        },
        "subscription": subscription,
    }
