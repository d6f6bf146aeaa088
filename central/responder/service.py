"""The reference head office: central's worker on a SQLite store, plus the publishing the tests need.

Events, acks, lookups and presence are ``central.worker.Worker`` itself (one worker, stable client
id); profiles for lookups go into central's profile store. What is left here is test and demo
tooling: publishing a bundle from a dict (with a chosen version, or deliberately broken), the
weather, and remote commands with their answers.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.agent.connection import request_properties
from sync.clock import Clock
from sync.config import BrokerSection
from sync.protocol import bundle as wire
from sync.protocol import topics
from sync.protocol.content import validate
from sync.weather.provider import Observation

from ..config import CentralConfig, CentralSection
from ..keys import Keyring
from ..profiles import upsert_profile
from ..publishing import record_published
from ..worker import Worker, worker_client_id
from .eventstore import EventStore


class Responder:
    """Publishes bundles, answers lookups, stores events with dedupe and acks them to each device."""

    def __init__(self, *, chain: str, host: str, port: int, key: Ed25519PrivateKey, clock: Clock,
                 events: EventStore | None = None, client_id: str | None = None,
                 http_dir: str | Path | None = None, http_base_url: str | None = None):
        self.chain = chain
        self.key = key
        self.clock = clock
        self._own_events = events is None
        self.events = events or EventStore()
        # Its own http_dir, next to its store: an erasure looks there for bundle files to remove, never in
        # a head office's folder that happens to be under the working directory.
        config = CentralConfig(CentralSection(chain=chain, dsn=str(self.events.path),
                                              http_dir=str(self.events.path.parent / "http")),
                               BrokerSection(host=host, port=port))
        self.worker = Worker(config, clock=clock, keys=Keyring.holding(key),
                             client_id=client_id or worker_client_id(chain, 1))
        self.client = self.worker.link.client
        self.http_dir = Path(http_dir) if http_dir else None
        self.http_base_url = http_base_url

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Responder:
        self.worker.start()
        return self

    def stop(self) -> None:
        self.worker.stop()
        if self._own_events:
            self.events.close()

    def add_profiles(self, profiles: list[dict]) -> int:
        """Hold profiles for lookups (central's golden profile store); returns how many."""
        now = self.clock.time()
        with self.events.db.transaction():
            for profile in profiles:
                upsert_profile(self.events.db, profile, now=now)
        return len(profiles)

    @property
    def presence(self) -> dict[str, dict]:
        """``store/device`` -> ``{"state", "boot_id"}`` as the worker last recorded it."""
        rows = self.events.db.execute("SELECT store, device, state, boot_id FROM devices WHERE state IS NOT NULL")
        return {f"{s}/{d}": {"state": state, "boot_id": boot} for s, d, state, boot in rows}

    # --- publishing ------------------------------------------------------------------------------
    def publish_bundle(self, scope: str, content: dict, *, version: int | None = None,
                       by_url: bool = False) -> dict:
        """Sign ``content`` for ``scope`` and publish its manifest retained at QoS 1."""
        validate(content)
        version = version or int(self.events.db.scalar("SELECT version FROM streams WHERE stream = ?",
                                                       (f"bundle:{scope}",)) or 0) + 1
        manifest = self.sign(scope, content, version=version, by_url=by_url)
        self.publish_manifest(topics.bundle_topic(self.chain, scope), manifest, retain=True)
        # As head office records it: an erasure asked for at a device republishes it without the customer.
        record_published(self.events.db, scope, version, manifest["sha256"], content)
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
        self.worker.link.publish(topic, payload, retain=retain)

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
        self.client.publish(topics.command_topic(self.chain, store, device),
                            json.dumps({"command": command, "args": args or {},
                                        "expires_at": self.clock.time() + 60}).encode(),
                            qos=1, properties=request_properties(reply_topic, correlation))
        ok = got.wait(timeout)
        self.client.message_callback_remove(reply_topic)
        return answer if ok else None
