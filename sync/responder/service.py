"""The reference head office service (see package docstring)."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..agent.connection import connect_properties, reply_properties
from ..protocol import bundle as wire
from ..protocol import events as events_wire
from ..protocol import lookup as lookup_wire
from ..protocol import topics
from ..protocol.content import validate
from ..weather.provider import Observation
from .eventstore import EventStore

log = logging.getLogger("store_edge.responder")
ACK_BATCH = 500
ACK_INTERVAL_S = 0.05


class Responder:
    """Publishes bundles, answers lookups, stores events with dedupe and acks them to each device."""

    def __init__(self, *, chain: str, host: str, port: int, key: Ed25519PrivateKey,
                 events: EventStore | None = None, client_id: str | None = None,
                 http_dir: str | Path | None = None, http_base_url: str | None = None):
        self.chain = chain
        self.host, self.port = host, port
        self.key = key
        self.events = events or EventStore()
        self.profiles: dict[str, dict] = {}
        self._by_phone_hash: dict[str, dict] = {}
        self.presence: dict[str, dict] = {}
        self.versions: dict[str, int] = {}
        self.http_dir = Path(http_dir) if http_dir else None
        self.http_base_url = http_base_url
        self._pending: list[dict] = []
        self._pending_lock = threading.Lock()
        self._stop = threading.Event()
        self.connected = threading.Event()
        # A stable id per worker: a restarted worker resumes its session and the events the broker queued
        # for it. A random id would leave a dead session in the share group, soaking up its share of events.
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                                  client_id=client_id or f"central-{chain}-1")
        self.client.max_inflight_messages_set(200)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        self._flusher = threading.Thread(target=self._flush_loop, name="responder-acks", daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Responder:
        self.client.connect(self.host, self.port, keepalive=15, clean_start=False,
                            properties=connect_properties(3600))
        self.client.loop_start()
        self._flusher.start()
        if not self.connected.wait(10):
            raise RuntimeError(f"responder could not connect to {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._flusher.join(2)
        self._flush()
        self.client.disconnect()
        self.client.loop_stop()

    def add_profiles(self, profiles: list[dict]) -> None:
        """Hold profiles for lookups, indexed by profile id and by phone hash."""
        for profile in profiles:
            self.profiles[profile["profile_id"]] = profile
            if profile.get("phone_hash"):
                self._by_phone_hash[profile["phone_hash"]] = profile

    # --- publishing ------------------------------------------------------------------------------
    def publish_bundle(self, scope: str, content: dict, *, version: int | None = None,
                       by_url: bool = False) -> dict:
        """Sign ``content`` for ``scope`` and publish its manifest retained at QoS 1."""
        validate(content)
        version = version or self.versions.get(scope, 0) + 1
        self.versions[scope] = max(version, self.versions.get(scope, 0))
        manifest = self.sign(scope, content, version=version, by_url=by_url)
        self.publish_manifest(topics.bundle_topic(self.chain, scope), manifest, retain=True)
        return manifest

    def publish_profile_delta(self, store: str, *, upsert: list[dict] | None = None,
                              erase: list[str] | None = None, version: int | None = None) -> dict:
        stream = f"profiles:store/{store}"
        version = version or self.versions.get(stream, 0) + 1
        self.versions[stream] = max(version, self.versions.get(stream, 0))
        content: dict = {}
        if upsert:
            content["profiles"] = upsert
        if erase:
            content["delete"] = {"profiles": erase}
        manifest, _ = wire.build_manifest(chain=self.chain, scope=f"store/{store}", version=version,
                                          content=content, key=self.key, mode="delta")
        self.publish_manifest(topics.profiles_topic(self.chain, store), manifest, retain=False)
        return manifest

    def publish_weather(self, store: str, observation: Observation) -> None:
        """The store's current weather, retained at QoS 1 on ``weather/{store}``."""
        self.publish_retained(topics.weather_topic(self.chain, store), observation.to_json())

    def sign(self, scope: str, content: dict, *, version: int, by_url: bool = False) -> dict:
        if not by_url:
            return wire.build_manifest(chain=self.chain, scope=scope, version=version, content=content,
                                       key=self.key)[0]
        if self.http_dir is None or self.http_base_url is None:
            raise RuntimeError("publishing by URL needs http_dir and http_base_url")
        data = wire.encode_content(content)
        name = f"bundle-{scope.replace('/', '-')}-{version}.json.gz"
        (self.http_dir / name).write_bytes(data)
        return wire.build_manifest(chain=self.chain, scope=scope, version=version, content=content,
                                   key=self.key, url=f"{self.http_base_url}/{name}")[0]

    def publish_manifest(self, topic: str, manifest: dict, *, retain: bool) -> None:
        self.publish(topic, json.dumps(manifest).encode(), retain=retain)

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """QoS 1, and wait for the broker's PUBACK."""
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def publish_retained(self, topic: str, payload: bytes) -> None:
        self.publish(topic, payload, retain=True)

    def command(self, store: str, device: str, command: str, args: dict | None = None,
                timeout: float = 5.0) -> dict | None:
        """Send a remote command and wait for the device's answer."""
        answer: dict = {}
        got = threading.Event()
        reply_topic = f"{topics.PREFIX}/{self.chain}/cmdresp/{store}/{device}"
        correlation = uuid.uuid4().bytes

        def on_reply(client, userdata, msg):
            if getattr(msg.properties, "CorrelationData", None) == correlation:
                answer.update(json.loads(msg.payload))
                got.set()

        self.client.message_callback_add(reply_topic, on_reply)
        self.client.subscribe(reply_topic, 1)
        from ..agent.connection import request_properties

        self.client.publish(topics.command_topic(self.chain, store, device),
                            json.dumps({"command": command, "args": args or {},
                                        "expires_at": time.time() + 60}).encode(),
                            qos=1, properties=request_properties(reply_topic, correlation))
        ok = got.wait(timeout)
        self.client.message_callback_remove(reply_topic)
        return answer if ok else None

    # --- callbacks (paho's network thread) -----------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("responder refused by broker: %s", reason_code)
            return
        client.subscribe([(topics.shared_events_filter(self.chain), 1),
                          (topics.lookup_request_topic(self.chain), 0),
                          (topics.presence_filter(self.chain), 1)])
        self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        try:
            if msg.topic == topics.lookup_request_topic(self.chain):
                self._answer_lookup(msg)
            elif "/presence/" in msg.topic:
                self._track_presence(msg.topic, msg.payload)
            elif topics.parse_events_topic(msg.topic):
                self._receive_event(msg.payload)
        except Exception:
            log.exception("responder: error handling %s", msg.topic)

    def _receive_event(self, payload: bytes) -> None:
        try:
            batch = events_wire.parse_batch(payload)
        except ValueError as exc:
            log.warning("malformed event message dropped: %s", exc)
            return
        with self._pending_lock:
            self._pending.extend(batch)
            full = len(self._pending) >= ACK_BATCH
        if full:
            self._flush()

    def _flush_loop(self) -> None:
        while not self._stop.wait(ACK_INTERVAL_S):
            self._flush()

    def _flush(self) -> None:
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        self.events.add_many(batch)  # stored (and committed) before any ack leaves
        by_device: dict[tuple[str, str], list[int]] = {}
        for e in batch:
            by_device.setdefault((e["store"], e["device"]), []).append(e["seq"])
        for (store, device), seqs in by_device.items():
            self.client.publish(topics.ack_topic(self.chain, store, device),
                                json.dumps({"seqs": seqs}).encode(), qos=1)

    def _answer_lookup(self, msg) -> None:
        response_topic = getattr(msg.properties, "ResponseTopic", None)
        if not response_topic:
            return
        try:
            key, value = lookup_wire.parse_request(msg.payload)
        except ValueError:
            return
        profile = (self.profiles if key == "profile_id" else self._by_phone_hash).get(value)
        body = lookup_wire.found(profile, 900) if profile else lookup_wire.not_found()
        self.client.publish(response_topic, body, qos=0,
                            properties=reply_properties(getattr(msg.properties, "CorrelationData", None)))

    def _track_presence(self, topic: str, payload: bytes) -> None:
        try:
            doc = json.loads(payload)
        except ValueError:
            return
        device = "/".join(topic.split("/")[-2:])
        known = self.presence.get(device)
        # A will from an older boot must not mark a newer session offline.
        if doc.get("state") == "offline" and known and known.get("boot_id") != doc.get("boot_id"):
            return
        self.presence[device] = doc
