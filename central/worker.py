"""A head-office worker: events in, acks out, lookups answered, presence tracked.

Run N of them (``store-edge-central serve --workers N``, or N processes on N machines): they share
``$share/central/.../events/+/+`` and ``$share/central/.../lookup/req/+/+``, so the broker splits both
between them. Each keeps a **stable client id** (``central-<chain>-<n>``) and a persistent
session, so a restarted worker takes back the events the broker queued for it (docs/protocol.md).

Events are stored (deduplicated by id, committed) before the ack leaves, exactly as devices
expect: a device deletes an outbox row only on head office's ack. A crash between the commit and
the ack costs a resend, which dedupe drops.

A device is who its topic says: the broker's ACL lets a device publish only on its own topics, while a
message body is only a claim. So events are stored and acked by the topic's store and device, and an
envelope claiming another is refused; a lookup is answered only on the asking device's own ``resp/``
topic, only with the shopper's proof (phone hash or signed QR token), and at most at the device's
rate; an erasure asked for at a device is carried out only with that same proof. Every refusal is
counted per device (``refused``, and ``device_refusals`` for the fleet view) and logged at most once a
minute per kind, so a device sending thousands cannot flood the log.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, defaultdict

import paho.mqtt.client as mqtt

from sync.agent.connection import reply_properties
from sync.clock import Clock
from sync.limits import QuietLog, TokenBucket
from sync.protocol import events as events_wire
from sync.protocol import lookup as lookup_wire
from sync.protocol import topics

from . import privacy_requests
from .config import CentralConfig
from .db import Database
from .deltas import digest
from .erasure import device_erasure_refusal
from .fleet import record_presence
from .headoffice import HeadOffice
from .ingest import ErasureRequest, store_events
from .keys import Keyring
from .mqtt import BrokerLink
from .profiles import lookup, resolve
from .qr_cards import check_card

log = logging.getLogger("store_edge.central")
ACK_BATCH = 2000
FLUSH_INTERVAL_S = 0.05
REFUSAL_LOG_EVERY_S = 60.0


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
                                              (share + topics.lookup_request_filter(self.chain), 0),
                                              (topics.presence_filter(self.chain), 1)])
        self.office = HeadOffice(config, self.db, self.keys, self.link, clock=clock)
        self.stored = 0
        self.duplicates = 0
        self.refused: Counter[tuple[str, str, str]] = Counter()  # (store, device, reason) -> count, since start
        self._refusals: Counter[tuple[str, str, str]] = Counter()  # not yet in device_refusals
        self._refusal_log = QuietLog(log, every_s=REFUSAL_LOG_EVERY_S, clock=clock)
        c = config.central
        self._lookup_limit = TokenBucket(c.lookup_rate_per_s, c.lookup_burst, clock=clock)
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
        if asker := topics.parse_lookup_topic(msg.topic):
            self._answer_lookup(msg, *asker)
        elif "/presence/" in msg.topic:
            store, device = msg.topic.split("/")[-2:]
            try:
                doc = json.loads(msg.payload)
            except ValueError:
                return
            if isinstance(doc, dict):
                with self._lock:
                    self._presence.append((store, device, doc))
        elif sender := topics.parse_events_topic(msg.topic):
            try:
                batch = events_wire.parse_batch(msg.payload)
            except ValueError as exc:
                log.warning("malformed event message dropped from %s: %s", msg.topic, exc)
                return
            batch = self._own_events(*sender, batch)
            with self._lock:
                self._pending.extend(batch)
                full = len(self._pending) >= ACK_BATCH
            if full:
                self.flush()

    def _own_events(self, store: str, device: str, batch: list[dict]) -> list[dict]:
        """The envelopes that are what their topic says; the others are refused, never stored nor acked.

        A refused envelope is not acked on the sender's topic either: its seq is the one it claims for
        the other device, so an ack would delete an unrelated row of the sender's outbox."""
        own = [e for e in batch if e.get("store") == store and e.get("device") == device]
        forged = len(batch) - len(own)
        if forged:
            claimed = next(e for e in batch if (e.get("store"), e.get("device")) != (store, device))
            self._refuse(store, device, "forged_event", forged, "%d event(s) from %s/%s claiming to be from %s/%s"
                         " refused", forged, store, device, claimed.get("store"), claimed.get("device"))
        return own

    def _answer_lookup(self, msg: mqtt.MQTTMessage, store: str, device: str) -> None:
        reply_to = getattr(msg.properties, "ResponseTopic", None)
        if reply_to != topics.response_topic(self.chain, store, device):
            self._refuse(store, device, "lookup_wrong_response_topic", 1,
                         "lookup from %s/%s ignored: it asked for the answer on %r, not its own resp/ topic",
                         store, device, reply_to)
            return
        if not self._lookup_limit.take((store, device)):
            self._refuse(store, device, "lookup_rate_limited", 1,
                         "lookup from %s/%s ignored: over %s a second", store, device, self._lookup_limit.rate)
            return
        try:
            key, value = lookup_wire.parse_request(msg.payload)
        except ValueError as exc:
            self._refuse(store, device, "lookup_without_proof", 1, "lookup from %s/%s ignored: %s", store, device, exc)
            return
        if key == "qr_token":
            card = check_card(self.keys, value, now=self.clock.time())
            if not card.ok:
                self._refuse(store, device, "lookup_without_proof", 1, "lookup from %s/%s ignored: QR token %s",
                             store, device, card.reason)
                return
            key, value = "profile_id", card.profile_id
        profile = lookup(self.lookup_db, key, value)
        ttl = self.config.central.lookup_ttl_s
        body = lookup_wire.found(profile, ttl) if profile else lookup_wire.not_found()
        self.link.publish(reply_to, body, qos=0, wait=False,
                          properties=reply_properties(getattr(msg.properties, "CorrelationData", None)))
        if profile:
            with self._lock:
                self._served.append((store, profile["profile_id"], digest(profile)))

    def _refuse(self, store: str, device: str, reason: str, count: int, message: str, *args: object) -> None:
        with self._lock:
            self.refused[store, device, reason] += count
            self._refusals[store, device, reason] += count
        self._refusal_log.warning(reason, message, *args)

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
            refusals, self._refusals = self._refusals, Counter()
        if refusals:
            self._store_refusals(refusals)
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
        for e in batch:  # every envelope here matched its topic (_own_events)
            seqs[e["store"], e["device"]].append(e["seq"])
        for (store, device), numbers in seqs.items():
            # QoS 0: an ack is idempotent and a lost one costs a resend, which dedupe drops. At QoS 1 a busy
            # head office ran out of paho's 65,535 message ids waiting for PUBACKs (benchmarks/fleet_sim.py).
            self.link.publish(topics.ack_topic(self.chain, store, device),
                              json.dumps({"seqs": numbers}).encode(), qos=0, wait=False)
        for asked in result.erasure_requests:
            refusal = device_erasure_refusal(self.db, self.keys, asked.profile_id, asked.proof, at=asked.at,
                                             now=self.clock.time())
            if refusal:
                self._refuse(asked.store, asked.device, "erasure_without_proof", 1,
                             "erasure asked for by %s/%s not carried out: %s", asked.store, asked.device, refusal)
            else:
                self._erase_asked(asked)

    def _erase_asked(self, asked: ErasureRequest) -> None:
        """The shopper's own request at a device: on the privacy desk's list (received the day head office heard
        it), answered when every store has confirmed the erasure."""
        by = f"device {asked.store}/{asked.device}"
        golden = resolve(self.db, "profile_id", asked.profile_id)
        ids = privacy_requests.open_erasure(self.db, golden, jurisdiction=self.config.privacy.jurisdiction, by=by,
                                            now=self.clock.time()) if golden else []
        self.office.erase(asked.profile_id, requested_by=by, request_ids=ids)

    def _store_refusals(self, refusals: Counter[tuple[str, str, str]]) -> None:
        now = self.clock.time()
        self.db.executemany(
            "INSERT INTO device_refusals (store, device, reason, count, last_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (store, device, reason) DO UPDATE SET count = device_refusals.count + excluded.count,"
            " last_at = excluded.last_at", [(*key, n, now) for key, n in sorted(refusals.items())])
        # A device refused from is one head office knows of, for the fleet's queries, even before any presence.
        self.db.executemany("INSERT INTO devices (store, device) VALUES (?, ?) ON CONFLICT DO NOTHING",
                            sorted({(store, device) for store, device, _ in refusals}))

    def _store_presence(self, rows: list[tuple[str, str, dict]]) -> None:
        for store, device, doc in rows:
            record_presence(self.db, store, device, doc)
