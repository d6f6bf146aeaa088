"""Interop with the stock Mosquitto clients, exactly as docs/protocol.md describes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import CHAIN, sample_content, wait_for

from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.protocol import signing

ROOT = Path(__file__).resolve().parent.parent


def test_bundle_built_by_cli_and_published_by_mosquitto_pub_is_applied(start_agent, broker, chain_key, tmp_path):
    agent = start_agent()
    key = tmp_path / "chain.key"
    key.write_bytes(signing.private_key_pem(chain_key))
    content = tmp_path / "content.json"
    content.write_text(json.dumps(sample_content(7)))
    manifest = tmp_path / "manifest.json"
    with manifest.open("w") as out:
        subprocess.run([sys.executable, "-m", "sync.publish", "build", "--chain", CHAIN, "--scope", "store/s001",
                        "--version", "3", "--key", str(key), str(content)], stdout=out, check=True, cwd=ROOT)
    subprocess.run(["mosquitto_pub", "-V", "mqttv5", "-p", str(broker.port), "-q", "1", "-r",
                    "-t", f"se/v1/{CHAIN}/bundle/store/s001", "-f", str(manifest)], check=True, timeout=10)
    wait_for(lambda: agent.reader.sync_state().get("store/s001"), what="bundle from mosquitto_pub applied")
    assert agent.reader.sync_state()["store/s001"]["version"] == 3
    assert len(agent.reader.products()) == 7


def test_bundle_cli_refuses_invalid_content_naming_the_field(chain_key, tmp_path):
    key = tmp_path / "chain.key"
    key.write_bytes(signing.private_key_pem(chain_key))
    content = tmp_path / "content.json"
    content.write_text(json.dumps({"products": [{"sku": "A", "name": {"en": "A"}}]}))
    result = subprocess.run([sys.executable, "-m", "sync.publish", "build", "--chain", CHAIN, "--scope", "chain",
                             "--version", "1", "--key", str(key), str(content)], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 2
    assert "products[0] (A): missing field 'category'" in result.stderr


def test_bundle_cli_refuses_content_a_device_cannot_load(chain_key, tmp_path):
    """Issue 13: the stock client's path runs the device's content check too, every problem named."""
    key = tmp_path / "chain.key"
    key.write_bytes(signing.private_key_pem(chain_key))
    bad = sample_content(2)
    bad["offers"].append({**bad["offers"][0], "id": "OFF2", "channels": ["kisok"]})
    bad["offers"].append({**bad["offers"][0], "id": "OFF3", "conditions": {"weather": "drizzle"}})
    content = tmp_path / "content.json"
    content.write_text(json.dumps(bad))
    result = subprocess.run([sys.executable, "-m", "sync.publish", "build", "--chain", CHAIN, "--scope", "chain",
                             "--version", "1", "--key", str(key), str(content)], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 2 and not result.stdout
    assert "offer OFF2: field 'channels': 'kisok' is not one of kiosk, tablet, signage" in result.stderr
    assert "offer OFF3: field 'conditions.weather': 'drizzle' is not one of" in result.stderr


def test_events_can_be_read_with_mosquitto_sub(start_agent, broker, device_config, clock):
    # A persistent session, subscribed before the agent starts (-E: exit once the broker has acked it), queues
    # the events for the second mosquitto_sub, which reads them from the same session.
    sub = ["mosquitto_sub", "-V", "mqttv5", "-p", str(broker.port), "-q", "1", "-c", "-i", "interop-sub", "-x", "60",
           "-t", f"se/v1/{CHAIN}/events/s001/kiosk-1"]
    subprocess.run([*sub, "-E"], check=True, timeout=10)
    config = device_config(health_interval_s=3600.0)
    cache = Cache(config.cache.path)
    outbox = Outbox(cache, boot_id="b", device="kiosk-1", store="s001", clock=clock)
    ids = [outbox.record("offer_sent_to_phone", {"offer": "OFF1", "i": i}) for i in range(3)]
    cache.close()
    start_agent(config)  # drains the three in one message: an array of envelopes
    out = subprocess.run([*sub, "-C", "1", "-W", "20"], capture_output=True, text=True, timeout=30).stdout
    events = [event for line in out.splitlines() for event in json.loads(line)]
    assert [e["id"] for e in events] == ids
    assert all(e["type"] == "offer_sent_to_phone" and e["device"] == "kiosk-1" for e in events)
