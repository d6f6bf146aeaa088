"""A head-office worker: events in, acks out, lookups answered, presence tracked.

Run N of them (``store-edge-central serve --workers N``, or N processes on N machines): they share
``$share/central/.../events/+/+`` and ``$share/central/.../lookup/req``, so the broker splits both
between them. Each keeps a **stable client id** (``central-<chain>-<n>``) and a persistent
session, so a restarted worker takes back the events the broker queued for it (docs/protocol.md).

Events are stored (deduplicated by id, committed) before the ack leaves, exactly as devices
expect: a device deletes an outbox row only on head office's ack. A crash between the commit and
the ack costs a resend, which dedupe drops.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict

import paho.mqtt.client as mqtt

from sync.agent.connection import reply_properties
from sync.clock import Clock
from sync.protocol import events as events_wire
from sync.protocol import lookup as lookup_wire
from sync.protocol import topics

from .config import CentralConfig
from .db import Database
from .deltas import digest
from .headoffice import HeadOffice
from .ingest import store_events
from .keys import Keyring
from .mqtt import BrokerLink
from .profiles import lookup

log = logging.getLogger("store_edge.central")
ACK_BATCH = 2000
FLUSH_INTERVAL_S = 0.05


def worker_client_id(chain: str, number: int) -> str:
    return f"central-{chain}-{number}"


class Worker:
    def __init__(self, config: CentralConfig, number: int = 1, *, clock: Clock, keys: Keyring | None = None,
                 client_id: str | None = None):
        self.config = config
        self.clock = clock
        self.chain = config.central.chain
        self.number = number
        self.db = Database(config.central.dsn)  # writes: events and what they feed
        self.lookup_db = Database(config.central.dsn)  # reads on paho's thread, never behind a write
        self.keys = keys or Keyring(config.central.keys_dir)
        share = f"$share/{topics.EVENTS_SHARE_GROUP}/"
        self.link = BrokerLink(config.broker, client_id or worker_client_id(self.chain, number),
                               on_message=self._on_message,
                               subscriptions=[(topics.shared_events_filter(self.chain), 1),
                                              (share + topics.lookup_request_topic(self.chain), 0),
                                              (topics.presence_filter(self.chain), 1)])
        self.office = HeadOffice(config, self.db, self.keys, self.link, clock=clock)
        self.stored = 0
        self.duplicates = 0
        self._pending: list[dict] = []
        self._presence: list[tuple[str, str, dict]] = []
        self._served: list[tuple[str, str, str]] = []  # (store, profile id, digest) answered by lookup
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name=f"central-worker-{number}", daemon=True)

    def start(self) -> Worker:
        self.link.start()
        self._flusher.start()
        return self

    @property
    def alive(self) -> bool:
        """False once the thread that stores and acks events has died: the watchdog then stops."""
        return self._flusher.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._flusher.join(5)
        self.flush()
        self.link.stop()
        self.db.close()
        self.lookup_db.close()

    # --- paho's thread: only parse and queue, or answer a lookup ---------------------------------
    def _on_message(self, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/lookup/req"):
            self._answer_lookup(msg)
        elif "/presence/" in msg.topic:
            store, device = msg.topic.split("/")[-2:]
            try:
                doc = json.loads(msg.payload)
            except ValueError:
                return
            if isinstance(doc, dict):
                with self._lock:
                    self._presence.append((store, device, doc))
        elif topics.parse_events_topic(msg.topic):
            try:
                batch = events_wire.parse_batch(msg.payload)
            except ValueError as exc:
                log.warning("malformed event message dropped from %s: %s", msg.topic, exc)
                return
            with self._lock:
                self._pending.extend(batch)
                full = len(self._pending) >= ACK_BATCH
            if full:
                self.flush()

    def _answer_lookup(self, msg: mqtt.MQTTMessage) -> None:
        response_topic = getattr(msg.properties, "ResponseTopic", None)
        if not response_topic:
            return
        try:
            key, value = lookup_wire.parse_request(msg.payload)
            store = json.loads(msg.payload).get("store")
        except ValueError:
            return
        profile = lookup(self.lookup_db, key, value)
        ttl = self.config.central.lookup_ttl_s
        body = lookup_wire.found(profile, ttl) if profile else lookup_wire.not_found()
        self.link.publish(response_topic, body, qos=0, wait=False,
                          properties=reply_properties(getattr(msg.properties, "CorrelationData", None)))
        if profile and isinstance(store, str):
            with self._lock:
                self._served.append((store, profile["profile_id"], digest(profile)))

    # --- the flush thread: commit, then ack ----------------------------------------------------
    def _flush_loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            try:
                self.flush()
            except Exception:
                log.exception("worker %d: flush failed; the events stay unacked and will come again", self.number)

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            presence, self._presence = self._presence, []
            served, self._served = self._served, []
        if presence:
            self._store_presence(presence)
        if served:
            # An erasure must reach every store that cached the profile, lookup caches included.
            self.db.executemany("INSERT INTO store_cache (store, profile_id, digest, sent_at) VALUES (?, ?, ?, 0)"
                                " ON CONFLICT DO NOTHING", served)
        if not batch:
            return
        result = store_events(self.db, batch, now=self.clock.time())
        self.stored += len(result.new)
        self.duplicates += result.duplicates
        seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
        for e in batch:
            seqs[e.get("store"), e.get("device")].append(e["seq"])
        for (store, device), numbers in seqs.items():
            if store and device:
                self.link.publish(topics.ack_topic(self.chain, store, device),
                                  json.dumps({"seqs": numbers}).encode(), wait=False)
        for profile_id in result.erasure_requests:
            self.office.erase(profile_id, requested_by="device")

    def _store_presence(self, rows: list[tuple[str, str, dict]]) -> None:
        for store, device, doc in rows:
            state, boot = doc.get("state"), doc.get("boot_id")
            if state == "offline":
                # A will from an older boot must not mark a newer session offline.
                self.db.execute("UPDATE devices SET state = 'offline', presence_at = ? WHERE store = ? AND device = ?"
                                " AND (boot_id IS NULL OR boot_id = ?)", (doc.get("ts"), store, device, boot))
            else:
                self.db.execute(
                    "INSERT INTO devices (store, device, state, boot_id, presence_at, last_seen)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (store, device) DO UPDATE SET state = excluded.state, boot_id = excluded.boot_id,"
                    f" presence_at = excluded.presence_at, last_seen = {self.db.dialect.greatest}("
                    "coalesce(devices.last_seen, 0), excluded.last_seen)",
                    (store, device, state, boot, doc.get("ts"), doc.get("ts") or 0))
