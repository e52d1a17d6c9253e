"""Property tests: whatever arrives, nothing escapes the decoder and no IP reaches any output."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.context import ContextConfig, build_context
from ingestion.core.message import Message
from ingestion.local.demo_geoip import build_demo_city_db, build_demo_isp_db
from ingestion.service.decoder import DecoderService
from support import ListSink


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("geo")
    context = build_context(
        ContextConfig(
            geo_city_database=str(build_demo_city_db(folder / "city.mmdb")),
            geo_isp_database=str(build_demo_isp_db(folder / "isp.mmdb")),
        )
    )
    return DecoderService(context, ListSink())


uuids = st.uuids().map(str)
namespaces = st.sampled_from(["org-example-app", "telemetry", "test", "firefox-desktop", "x"])
doctypes = st.sampled_from(["baseline", "events", "event", "main", "topsites-impression", "y"])
segment = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
uris = st.one_of(
    st.builds(
        lambda n, t, v, d: f"/submit/{n}/{t}/{v}/{d}",
        namespaces,
        doctypes,
        st.sampled_from(["1", "4", "x"]),
        uuids,
    ),
    st.builds(
        lambda d, t, rest: f"/submit/telemetry/{d}/{t}/{rest}",
        uuids,
        doctypes,
        st.lists(segment, max_size=6).map("/".join),
    ),
    st.builds(lambda parts: "/stub/" + "/".join(parts), st.lists(segment, max_size=50)),
    segment,
)
ips = st.ip_addresses().map(str)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | segment,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(segment, children, max_size=4)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(
    st.sampled_from(["client_info", "metadata", "client_id", "version", "v", "payload", "events"])
    | segment,
    json_values,
    max_size=6,
)
payloads = st.one_of(
    st.binary(max_size=300),
    json_objects.map(lambda o: json.dumps(o).encode()),
    json_objects.map(lambda o: gzip.compress(json.dumps(o).encode())),
    st.binary(max_size=200).map(gzip.compress),
)
extra_attributes = st.dictionaries(
    st.sampled_from(
        [
            "user_agent",
            "x_debug_id",
            "geo_country",
            "isp_name",
            "message_id",
            "submission_timestamp",
            "client_id",
            "document_version",
        ]
    )
    | segment,
    segment,
    max_size=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    uri=uris,
    payload=payloads,
    extra=extra_attributes,
    client=ips,
    proxies=st.lists(ips, max_size=3),
    remote=ips,
)
def test_no_exception_escapes_and_no_ip_is_output(
    service, uri, payload, extra, client, proxies, remote
):
    attributes = {
        **extra,
        "uri": uri,
        "remote_addr": remote,
        "x_forwarded_for": ", ".join([client, *proxies]),
    }
    outcome = service.decode(Message(attributes=attributes, payload=payload))
    outputs = outcome.decoded + outcome.errors
    assert len(outcome.decoded) + len(outcome.errors) + len(outcome.dropped) >= 1
    # IPs that appear nowhere else in the input must appear nowhere in the output.
    elsewhere = repr(extra) + uri + payload.decode("latin-1")
    secrets = {ip for ip in (client, remote, *proxies) if len(ip) >= 7 and ip not in elsewhere}
    for output in outputs:
        assert "remote_addr" not in output.attributes
        assert "x_forwarded_for" not in output.attributes
        texts = [*output.attributes.values(), output.payload.decode("latin-1")]
        for secret in secrets:
            assert not any(secret in text for text in texts), (secret, output.attributes)
    for error in outcome.errors:
        assert error.attributes["error_type"]
        assert error.attributes["exception_class"]


class RecordingPublisher:
    """A publisher whose topics exist only if listed: others fail as Pub/Sub's NotFound."""

    def __init__(self, existing: set[str]) -> None:
        self.existing = existing
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    def publish(self, topic: str, data: bytes, **attributes: str):
        import concurrent.futures

        from google.api_core.exceptions import NotFound

        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        name = topic.rsplit("/", 1)[-1]
        if name in self.existing or name == "decoder-errors":
            self.published.append((name, data, attributes))
            future.set_result("1")
        else:
            future.set_exception(NotFound(f"Topic not found: {name}"))
        return future


spelled = st.sampled_from(
    ["org-example-app", "ORG-EXAMPLE-APP", "org_example_app", "Org-Example-App"]
)
hostile_names = st.one_of(spelled, segment, st.just("x" * 300), st.just("goog"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(namespace=hostile_names, doctype=st.one_of(st.just("baseline"), segment), client=ips)
def test_per_doctype_routing_never_loops_and_never_leaks(service, namespace, doctype, client):
    pytest.importorskip("google.api_core")
    from ingestion.adapters.pubsub_sink import PubSubSink

    publisher = RecordingPublisher({"decoded-org-example-app-baseline"})
    sink = PubSubSink(
        publisher, project="p", decoded_topic="decoded-${document_namespace}-${document_type}"
    )
    routed = DecoderService(service.context, sink)
    body = {
        "client_info": {"telemetry_sdk_build": "61.2.0", "client_id": str(uuid.uuid4())},
        "ping_info": {
            "seq": 1,
            "start_time": "2026-11-20T10:00:00Z",
            "end_time": "2026-11-20T10:05:00Z",
        },
    }
    attributes = {
        "uri": f"/submit/{namespace}/{doctype}/1/{uuid.uuid4()}",
        "x_forwarded_for": client,
        "submission_timestamp": "2026-11-20T10:15:30.123456Z",
    }
    outcome = routed.process(Message(attributes, json.dumps(body).encode()))  # never raises
    assert len(outcome.decoded) + len(outcome.errors) + len(outcome.dropped) == 1
    assert len(publisher.published) == len(outcome.decoded) + len(outcome.errors)
    for topic, data, published in publisher.published:
        # The payload as published is gzip: its bytes hide the text, and may hold two random
        # bytes that spell a short address ("::") by chance. The text is what must not leak.
        payload = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        assert client not in repr(published) and client.encode() not in payload
        if "error_type" not in published:  # decoded: only to the canonical topic
            assert topic == "decoded-org-example-app-baseline"
