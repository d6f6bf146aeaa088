"""Building a paho client for one connection: MQTT 5, persistent session, will, TLS."""

from __future__ import annotations

import json
import random
import ssl
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..config import BrokerSection

# The broker holds back our will this long, so a quick reconnect (or a takeover by the next
# boot) cancels it instead of flashing 'offline'.
WILL_DELAY_S = 10
MAX_RECONNECT_DELAY_S = 30.0


class Backoff:
    """Reconnect delays: exponential, with full jitter (uniform between 0 and the doubling ceiling).

    When the broker restarts, all of a chain's devices lose it at the same instant. With a fixed
    delay (or a small jitter around one) they come back in waves that hit the broker together;
    spread over the whole window, each wave is as small as the fleet allows (benchmarks/fleet_sim.py)."""

    def __init__(self, base_s: float = 0.5, cap_s: float = MAX_RECONNECT_DELAY_S,
                 rng: Callable[[], float] = random.random):
        self.base_s, self.cap_s, self._rng = base_s, cap_s, rng
        self.attempt = 0

    def next(self) -> float:
        ceiling = min(self.cap_s, self.base_s * 2 ** self.attempt)
        self.attempt += 1
        return ceiling * self._rng()

    def reset(self) -> None:
        self.attempt = 0


def presence(state: str, boot_id: str, ts: float, *, clean: bool = False) -> bytes:
    """``clean``: the device says 'offline' itself (a stop), not its will (a crash, a cut)."""
    doc = {"state": state, "boot_id": boot_id, "ts": ts}
    if clean:
        doc["clean"] = True
    return json.dumps(doc).encode()


def new_client(client_id: str, broker: BrokerSection, *, will_topic: str, boot_id: str, now: float) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, reconnect_on_failure=False
    )
    will_props = Properties(PacketTypes.WILLMESSAGE)
    will_props.WillDelayInterval = WILL_DELAY_S
    client.will_set(will_topic, presence("offline", boot_id, now), qos=1, retain=True, properties=will_props)
    if broker.username:
        client.username_pw_set(broker.username, broker.secret())
    if broker.tls:
        client.tls_set(
            ca_certs=broker.ca_file or None,
            certfile=broker.cert_file or None,
            keyfile=broker.key_file or None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    return client


def connect_properties(session_expiry_s: int) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    return props


def request_properties(response_topic: str, correlation: bytes) -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = response_topic
    props.CorrelationData = correlation
    return props


def reply_properties(correlation: bytes | None) -> Properties | None:
    if correlation is None:
        return None
    props = Properties(PacketTypes.PUBLISH)
    props.CorrelationData = correlation
    return props
