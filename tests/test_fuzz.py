"""Property tests: arbitrary bytes on every topic the agent subscribes to never crash it
and never change the cache."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import cache_snapshot, sample_content, wait_for

from sync.protocol import bundle as wire


@pytest.fixture
def fuzz_target(start_agent, responder, broker):
    agent = start_agent()
    responder.publish_bundle("chain", sample_content(5))
    wait_for(lambda: agent.bundles.counts["applied"] == 1)
    wait_for(agent.bundles.idle.is_set)
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fuzzer", protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    yield agent, publisher
    publisher.disconnect()
    publisher.loop_stop()


json_ish = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512).map(str.encode),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                 max_leaves=12).map(lambda v: __import__("json").dumps(v).encode()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=st.lists(st.tuples(st.integers(min_value=0, max_value=20), json_ish), min_size=1, max_size=6))
def test_garbage_on_every_subscribed_topic(fuzz_target, payloads):
    agent, publisher = fuzz_target
    subscribed = agent.topics.subscriptions()
    before = cache_snapshot(agent.cache_path)
    seen = agent.stats["messages"]
    for index, payload in payloads:
        topic = subscribed[index % len(subscribed)]
        publisher.publish(topic, payload, qos=1).wait_for_publish(5)
    wait_for(lambda: agent.stats["messages"] >= seen + len(payloads), what="agent received every message")
    wait_for(agent.bundles.idle.is_set, what="bundle worker idle")
    assert agent.bundles.is_alive() and agent._thread.is_alive()
    assert agent.connected.is_set()
    assert cache_snapshot(agent.cache_path) == before


@settings(max_examples=300, deadline=None)
@given(raw=json_ish)
def test_manifest_parser_only_ever_rejects(raw):
    try:
        wire.parse_manifest(raw, chain="demo", scope="chain")
    except wire.BundleRejected as exc:
        assert exc.reason
