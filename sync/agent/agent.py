"""The sync agent. One thread (``sync-io``) owns the paho client and does all MQTT I/O.

Other threads talk to it through ``lookup()`` and ``call_soon()``, which queue work and
wake the I/O thread. Bundles are handed to the bundle worker thread so that a large
apply never stalls keepalives or the outbox drain.
"""

from __future__ import annotations

import json
import logging
import queue
import select
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt

from ..cache.db import Cache, CacheError
from ..cache.outbox import Outbox
from ..cache.profiles import forget_lookups, purge_expired, remember_lookup
from ..cache.read import CacheReader
from ..cache.signage import active_overrides, save_override
from ..cache.weather import save_weather
from ..clock import Clock
from ..config import DeviceConfig
from ..media import MediaFetcher
from ..protocol import erasure as erasure_wire
from ..protocol import lookup as lookup_wire
from ..protocol.bundle import Manifest
from ..protocol.overrides import Override, OverrideRejected, check_override, parse_override
from ..protocol.signing import TrustedKeys
from ..protocol.topics import DeviceTopics
from ..runtime import rss_bytes
from ..weather.open_meteo import OpenMeteo
from ..weather.provider import Observation, WeatherError, WeatherProvider
from . import connection
from .bundles import Arrival, BundleWorker, Rejection
from .commands import CommandRegistry
from .drain import OutboxDrain

log = logging.getLogger("store_edge.sync.agent")
PURGE_INTERVAL_S = 300.0  # personal data past its TTL leaves the device within this
# The I/O loop turns at least every 0.2 s, or once per reconnect wait; longer than this and it is stuck.
IO_STALL_S = connection.MAX_RECONNECT_DELAY_S + 15.0


@dataclass(frozen=True)
class LookupResult:
    status: str  # "found", "not_found" or "unknown" (no answer in time)
    profile: dict | None = None


def _guarded(fn: Callable) -> Callable:
    """An exception inside a paho callback would kill the loop; log it instead."""

    def wrapper(self: SyncAgent, *args: object) -> None:
        try:
            fn(self, *args)
        except Exception:
            log.exception("error in %s", fn.__name__)

    wrapper.__name__ = fn.__name__
    return wrapper


class SyncAgent:
    """``clock`` is the device's one clock: everything the agent stamps or expires goes by it, and its outbox,
    bundle worker and commands share it (``agent.clock`` for a screen or the till built on the agent)."""

    def __init__(self, config: DeviceConfig, *, clock: Clock, base_dir: str | Path = "."):
        self.config = config
        self.clock = clock
        base = Path(base_dir)
        self.cache_path = str(base / config.cache.path)
        self.media_dir = base / config.cache.media_dir
        dev = config.device
        self.topics = DeviceTopics(dev.chain, dev.region, dev.store, dev.id)
        self.boot_id = uuid.uuid4().hex
        self.keys = TrustedKeys.from_files([base / k for k in config.sync.trusted_keys])
        self.commands = CommandRegistry(clock=clock)
        self._listeners: list[Callable[[Manifest], None]] = []
        self._health_sources: list[Callable[[], dict]] = []
        self._override_listeners: list[Callable[[Override], None]] = []
        self._work: queue.Queue[Callable[[], None]] = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sync-io", daemon=True)
        self._client: mqtt.Client | None = None
        self.connected = threading.Event()
        self._lookups: dict[bytes, tuple[Future, float]] = {}
        self._services: dict[str, Callable[[bytes], bytes]] = {}
        self.started_at = time.monotonic()
        self.last_io_turn = self.started_at
        self.stats = {"messages": 0, "connects": 0, "presence_repairs": 0, "unsolicited_answers": 0}
        self._cache: Cache | None = None
        self.outbox: Outbox | None = None
        self.drain: OutboxDrain | None = None
        self.bundles = BundleWorker(
            cache_path=self.cache_path,
            media=MediaFetcher(self.media_dir, retries=config.sync.media_retries,
                               budget_bytes=config.cache.media_budget_bytes),
            chain=dev.chain, keys=self.keys, on_applied=self._bundle_applied, clock=clock,
            max_bytes=config.cache.max_bytes or None, on_rejected=self._content_rejected,
            on_erased=self._erasure_applied,
        )
        self._register_builtin_commands()
        self._weather_provider = self._direct_weather_provider()
        self._weather_thread: threading.Thread | None = None

    # --- public API, callable from any thread ---------------------------------------------
    def start(self) -> SyncAgent:
        self._open_cache()
        self.bundles.start()
        self._thread.start()
        self._start_weather_fetch()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake()
        self._thread.join(timeout)
        self.bundles.stop()
        self.bundles.join(timeout)
        if self._weather_thread is not None:
            self._weather_thread.join(timeout)

    def io_alive(self) -> bool:
        """The I/O thread is running and not stuck: the main loop pings systemd's watchdog only then."""
        return self._thread.is_alive() and time.monotonic() - self.last_io_turn < IO_STALL_S

    def on_bundle_applied(self, listener: Callable[[Manifest], None]) -> None:
        """Called on the bundle worker thread; a screen should hop to its UI thread."""
        self._listeners.append(listener)

    def add_health(self, source: Callable[[], dict]) -> None:
        """What a service in this process adds to each health event: a screen's ``last_error`` (why it shows
        less than the cache holds), the till endpoint's counters under ``pos``. Called on the I/O thread."""
        self._health_sources.append(source)

    def on_override(self, listener: Callable[[Override], None]) -> None:
        """Called on the I/O thread with each override stored (start or end); a screen should hop to its UI
        thread and read ``sync.cache.signage.active_overrides``."""
        self._override_listeners.append(listener)

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the I/O thread."""
        self._work.put(fn)
        self._wake()

    def serve(self, topic: str, handler: Callable[[bytes], bytes]) -> None:
        """Answer MQTT 5 requests on ``topic`` with ``handler(payload) -> reply`` on the I/O thread.

        The reply goes to the request's ResponseTopic with its CorrelationData.
        """
        self._services[topic] = handler

        def subscribe_now() -> None:
            if self._client is not None and self.connected.is_set():
                self._client.subscribe(topic, 1)

        self.call_soon(subscribe_now)

    def lookup(self, key: str, value: str, timeout_s: float | None = None) -> LookupResult:
        """Ask head office for a profile not in the cache. 'unknown' if no answer in time."""
        timeout = self.config.sync.lookup_timeout_ms / 1000 if timeout_s is None else timeout_s
        if not self.connected.is_set():
            return LookupResult("unknown")
        future: Future = Future()
        request = lookup_wire.request(key, value)
        self.call_soon(lambda: self._send_lookup(request, future, timeout))
        try:
            return future.result(timeout)
        except TimeoutError:
            return LookupResult("unknown")

    # --- the I/O thread ---------------------------------------------------------------------
    def _open_cache(self) -> None:
        self._cache = Cache(self.cache_path, max_bytes=self.config.cache.max_bytes or None)
        self.outbox = Outbox(self._cache, boot_id=self.boot_id, device=self.topics.device, store=self.topics.store,
                             clock=self.clock)
        s = self.config.sync
        self.drain = OutboxDrain(self.outbox, self._publish_event, window=s.inflight_window,
                                 ack_timeout_s=s.ack_timeout_s, batch_events=s.batch_events,
                                 max_payload_bytes=s.max_payload_bytes)
        self.reader = CacheReader(self._cache, self.media_dir)

    def _run(self) -> None:
        backoff = connection.Backoff()
        next_health = time.monotonic() + 5.0
        next_purge = 0.0
        next_poll = 0.0
        while not self._stop.is_set():
            self.last_io_turn = time.monotonic()
            if self.last_io_turn >= next_purge:  # online or not: a TTL does not wait for the network
                self._purge_personal_data()
                next_purge = self.last_io_turn + PURGE_INTERVAL_S
            if self._client is None:
                if self._connect():
                    backoff.reset()
                else:
                    self._stop.wait(backoff.next())
                    continue
            now = time.monotonic()
            self._run_work()
            busy = False
            if self.connected.is_set() and (now >= next_poll or self.drain.more_waiting and self.drain.capacity() > 0):
                try:
                    busy = self.drain.pump() > 0
                except CacheError as exc:
                    log.error("outbox read failed: %s", exc)
                next_poll = now + 0.2
            if now >= next_health:
                self._record_health()
                next_health = now + self.config.sync.health_interval_s
            self._expire_lookups(now)
            self.drain.check_ack_timeouts(now)
            self._io(0.0 if busy else 0.2)
        self._disconnect()

    def _io(self, timeout: float) -> None:
        client = self._client
        sock = client.socket() if client else None
        if sock is None:
            self._lost()
            return
        try:
            readable, writable, _ = select.select([sock, self._wake_r], [sock] if client.want_write() else [], [],
                                                  timeout)
        except (OSError, ValueError):
            self._lost()
            return
        if self._wake_r in readable:
            try:
                self._wake_r.recv(4096)
            except BlockingIOError:
                pass
        rc = mqtt.MQTT_ERR_SUCCESS
        if sock in readable:
            rc = client.loop_read()
        if rc == mqtt.MQTT_ERR_SUCCESS and (sock in writable or client.want_write()):
            rc = client.loop_write()
        if rc == mqtt.MQTT_ERR_SUCCESS:
            rc = client.loop_misc()
        if rc != mqtt.MQTT_ERR_SUCCESS or client.socket() is None:
            self._lost()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass

    def _run_work(self) -> None:
        while True:
            try:
                fn = self._work.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception:
                log.exception("error in queued work")

    def _connect(self) -> bool:
        b = self.config.broker
        try:
            # TLS files are read here: an unreadable or bad one is logged (never its contents) and retried.
            client = connection.new_client(self.topics.device, b, will_topic=self.topics.presence,
                                           boot_id=self.boot_id, now=self.clock.time())
        except (OSError, ValueError) as exc:
            log.error("cannot set up the connection to %s:%d (%s); check [broker] TLS files", b.host, b.port, exc)
            return False
        # Our drain bounds the window; paho's own cap would rescan its queue on every PUBACK.
        client.max_inflight_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        try:
            client.connect(b.host, b.port, keepalive=b.keepalive_s, clean_start=False,
                           properties=connection.connect_properties(b.session_expiry_s))
        except (OSError, ValueError) as exc:
            log.warning("broker %s:%d unreachable (%s)", b.host, b.port, exc)
            return False
        self._client = client
        return True

    def _lost(self) -> None:
        if self._client is not None:
            log.warning("connection to the broker lost; events stay in the outbox")
            try:
                self._client.socket() and self._client.disconnect()
            except Exception:
                pass
        self._client = None
        self.connected.clear()
        self.drain.reset()

    def _disconnect(self) -> None:
        client = self._client
        if client is None:
            return
        # A clean disconnect would delete the will; we want 'offline' to be said, so say it ourselves.
        client.publish(self.topics.presence,
                       connection.presence("offline", self.boot_id, self.clock.time(), clean=True), qos=1, retain=True)
        client.loop_write()
        client.disconnect()
        self._client = None
        self.connected.clear()

    # --- paho callbacks (all on the I/O thread) ----------------------------------------------
    @_guarded
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            self._lost()
            return
        receive_max = getattr(properties, "ReceiveMaximum", None)
        if receive_max:
            self.drain.window = min(self.config.sync.inflight_window, receive_max)
        self.stats["connects"] += 1
        log.info("connected to %s:%d as %s (session present: %s, window %d)", self.config.broker.host,
                 self.config.broker.port, self.topics.device, flags.session_present, self.drain.window)
        client.subscribe([(t, 1) for t in self._subscriptions()])
        self._publish_presence(client)
        self.connected.set()
        self._wake()

    @_guarded
    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if client is self._client:
            self.connected.clear()

    @_guarded
    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.drain.on_puback(mid, not reason_code.is_failure)

    @_guarded
    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        self.stats["messages"] += 1
        topic, t = msg.topic, self.topics
        if topic == t.acks:
            self._handle_ack(msg.payload)
        elif topic == t.responses:
            self._handle_lookup_answer(msg)
        elif topic == t.commands:
            self._handle_command(client, msg)
        elif topic == t.presence:
            self._check_presence(client, msg.payload)
        elif topic == t.profiles:
            self.bundles.submit(Arrival(f"profiles:store/{t.store}", f"store/{t.store}", "delta", msg.payload))
        elif topic == t.weather:
            self._handle_weather(msg.payload)
        elif topic in self._services:
            self._answer_request(client, msg, self._services[topic])
        else:
            for scope in t.scopes():
                if topic == t.bundle(scope):
                    self.bundles.submit(Arrival(scope, scope, "snapshot", msg.payload))
                    return
                if topic == t.override(scope):
                    self._handle_override(scope, msg.payload)
                    return
            log.warning("message on unexpected topic %s ignored", topic)

    # --- handlers ---------------------------------------------------------------------------
    def _subscriptions(self) -> list[str]:
        return self.topics.subscriptions() + list(self._services)

    def _answer_request(self, client: mqtt.Client, msg: mqtt.MQTTMessage, handler: Callable[[bytes], bytes]) -> None:
        reply_to = getattr(msg.properties, "ResponseTopic", None)
        if not reply_to:
            log.warning("request on %s without a ResponseTopic ignored", msg.topic)
            return
        client.publish(reply_to, handler(msg.payload), qos=1,
                       properties=connection.reply_properties(getattr(msg.properties, "CorrelationData", None)))

    def _publish_event(self, wire: bytes) -> int:
        info = self._client.publish(self.topics.events, wire, qos=1)
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else -1

    def _handle_ack(self, payload: bytes) -> None:
        try:
            seqs = json.loads(payload)["seqs"]
            if not isinstance(seqs, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seqs):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            log.warning("malformed ack ignored")
            return
        try:
            self.drain.on_receiver_ack(seqs)
        except CacheError as exc:
            log.error("could not delete acked events: %s", exc)

    def _publish_presence(self, client: mqtt.Client) -> None:
        client.publish(self.topics.presence, connection.presence("online", self.boot_id, self.clock.time()),
                       qos=1, retain=True)

    def _check_presence(self, client: mqtt.Client, payload: bytes) -> None:
        """A retained 'offline' from an older connection must not stand while we are online."""
        try:
            doc = json.loads(payload)
            ours = doc.get("state") == "online" and doc.get("boot_id") == self.boot_id
        except (ValueError, AttributeError):
            ours = False
        if not ours and self.connected.is_set():
            self.stats["presence_repairs"] += 1
            log.info("stale presence message seen; publishing 'online' again")
            self._publish_presence(client)

    def _send_lookup(self, request: bytes, future: Future, timeout: float) -> None:
        if self._client is None or not self.connected.is_set():
            future.set_result(LookupResult("unknown"))
            return
        correlation = uuid.uuid4().bytes
        self._lookups[correlation] = (future, time.monotonic() + timeout)
        self._client.publish(self.topics.lookup_requests, request, qos=0,
                             properties=connection.request_properties(self.topics.responses, correlation))

    def _handle_lookup_answer(self, msg: mqtt.MQTTMessage) -> None:
        correlation = getattr(msg.properties, "CorrelationData", None)
        pending = self._lookups.pop(correlation, None) if correlation else None
        if pending is None:
            # Only an answer to a question this device is still waiting on is believed.
            self.stats["unsolicited_answers"] += 1
            log.warning("lookup answer ignored: it answers no pending request of this device")
            return
        try:
            doc = json.loads(msg.payload)
            status = doc["status"]
            profile = doc.get("profile") if status == "found" else None
            if status not in ("found", "not_found") or (status == "found" and not isinstance(profile, dict)):
                raise ValueError(status)
            if profile is not None and not isinstance(profile.get("profile_id"), str):
                raise ValueError("profile without profile_id")
        except (ValueError, KeyError, TypeError):
            log.warning("malformed lookup answer ignored")
            pending[0].set_result(LookupResult("unknown"))
            return
        if profile is not None:
            try:
                ttl = lookup_wire.answer_ttl(doc.get("ttl_s"), self.config.sync.lookup_ttl_s)
                remember_lookup(self._cache, profile, ttl, self.clock.time())
            except CacheError as exc:
                log.error("could not cache lookup answer: %s", exc)
        if not pending[0].done():
            pending[0].set_result(LookupResult(status, profile))

    def _expire_lookups(self, now: float) -> None:
        for correlation, (future, deadline) in list(self._lookups.items()):
            if now > deadline:
                del self._lookups[correlation]
                if not future.done():
                    future.set_result(LookupResult("unknown"))

    def _handle_command(self, client: mqtt.Client, msg: mqtt.MQTTMessage) -> None:
        answer = self.commands.run(msg.payload)
        log.info("command %s: %s", answer.get("command", "?"), "ok" if answer["ok"] else answer["error"])
        props = msg.properties
        topic = getattr(props, "ResponseTopic", None) or self.topics.command_replies
        client.publish(topic, json.dumps(answer, default=str).encode(), qos=1,
                       properties=connection.reply_properties(getattr(props, "CorrelationData", None)))

    def _handle_override(self, scope: str, payload: bytes) -> None:
        if not payload:
            return  # head office cleared the retained message; what the device holds expires by itself
        try:
            override = parse_override(payload, chain=self.topics.chain, scope=scope, keys=self.keys)
        except OverrideRejected as exc:
            log.warning("override rejected: %s", exc)
            return
        self._store_override(override, "broker")

    def _store_override(self, override: Override, source: str) -> bool:
        try:
            stored = save_override(self._cache, override, source=source, received_at=self.clock.time())
        except CacheError as exc:
            log.error("override %s not stored: %s", override.override_id, exc)
            return False
        if not stored:
            log.info("override %s on %s ignored: a newer one is held", override.override_id, override.scope)
            return False
        log.info("override %s %s on %s (until %s)", override.override_id, override.action, override.scope,
                 override.expires_at)
        for listener in self._override_listeners:
            try:
                listener(override)
            except Exception:
                log.exception("override listener failed")
        return True

    def _override_command(self, args: dict) -> dict:
        """An override from the store's staff tablet, for this device only. The command topic's ACL is the
        trust here, as for ``reload``; head office's overrides come signed on ``override/{scope}``."""
        now = self.clock.time()
        scope = f"device/{self.topics.device}"
        if args.get("action") == "end":  # ending one from head office too: its row is under its own scope
            held = {o.override_id: o.scope for o in active_overrides(self._cache, now)}
            scope = held.get(str(args.get("override_id")), scope)
        try:
            override = Override(chain=self.topics.chain, scope=scope,
                                override_id=str(args["override_id"]), issued_at=float(args.get("issued_at", now)),
                                expires_at=float(args.get("expires_at", now)), action=str(args.get("action", "start")),
                                message=args.get("message"), playlist=args.get("playlist"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"override: missing or malformed field {exc}") from None
        check_override(override)
        return {"stored": self._store_override(override, "command"), "scope": override.scope}

    def _handle_weather(self, payload: bytes) -> None:
        """Head office's retained weather for our store: stored unless malformed (then the cache is unchanged)."""
        try:
            observation = Observation.from_json(payload)
        except ValueError as exc:
            log.warning("malformed weather message ignored: %s", exc)
            return
        try:
            save_weather(self._cache, self.topics.store, observation, self.clock.time())
        except CacheError as exc:
            log.error("weather not stored: %s", exc)

    # --- direct weather (``[weather] direct = true``): its own thread, never the I/O thread ------------
    def _direct_weather_provider(self) -> WeatherProvider | None:
        w = self.config.weather  # sync.config has checked provider, lat and lon
        return OpenMeteo(base_url=w.base_url) if w.direct else None

    def _start_weather_fetch(self) -> None:
        if self._weather_provider is not None and self._weather_thread is None:
            self._weather_thread = threading.Thread(target=self._weather_fetch_loop, name="weather-fetch",
                                                    daemon=True)
            self._weather_thread.start()

    def _weather_fetch_loop(self) -> None:
        w = self.config.weather
        cache = Cache(self.cache_path, max_bytes=self.config.cache.max_bytes or None)  # one Cache per thread
        try:
            while not self._stop.is_set():
                try:
                    observation = self._weather_provider.current(w.lat, w.lon)
                    save_weather(cache, self.topics.store, observation, self.clock.time())
                except WeatherError:
                    pass  # the provider has logged the reason; the last stored weather stands until it is stale
                except CacheError as exc:
                    log.error("weather not stored: %s", exc)
                except Exception:
                    log.exception("weather fetch failed")
                self._stop.wait(w.interval_s)
        finally:
            cache.close()

    def _bundle_applied(self, manifest: Manifest) -> None:
        for listener in self._listeners:
            try:
                listener(manifest)
            except Exception:
                log.exception("bundle listener failed")

    def _content_rejected(self, rejection: Rejection) -> None:
        """Head office hears why: the fleet view shows the version refused and its reasons."""
        try:
            self.outbox.record("content_rejected", {"scope": rejection.stream, "version": rejection.version,
                                                    "reasons": rejection.reasons, "applied": rejection.applied})
        except CacheError as exc:
            log.error("content_rejected not recorded: %s", exc)

    def _erasure_applied(self, conn: sqlite3.Connection, profile_ids: list[str]) -> None:
        """Head office hears that this device has carried out an erasure (its receipt shows each store's
        confirmation): by the ids' hashes, as the ids are gone from here with the purge this joins."""
        self.outbox.append(conn, "erasure_applied", erasure_wire.applied_payload(profile_ids))

    # --- health and built-in commands -----------------------------------------------------------
    def health(self) -> dict:
        stats = self.outbox.stats()
        return {
            "boot_id": self.boot_id,
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "connected": self.connected.is_set(),
            "outbox_rows": stats.rows,
            "outbox_bytes": stats.bytes,
            "cache_file_bytes": self.outbox.file_bytes(),
            "media_bytes": self.bundles.media.disk_bytes(),
            "rss_bytes": rss_bytes(),
            "sync_state": {k: v["version"] for k, v in self.reader.sync_state().items()},
            "bundles": dict(self.bundles.counts),
            "trusted_keys": self.keys.ids(),  # head office's key rotation view: which keys this device accepts
        } | {k: v for source in self._health_sources for k, v in source().items()}

    def _purge_personal_data(self) -> None:
        try:
            purged = purge_expired(self._cache, self.clock.time())
        except CacheError as exc:
            log.error("personal data purge failed: %s", exc)
            return
        if any(purged.values()):
            log.info("purged past their TTL: %d profiles, %d consent rows", purged["profiles"], purged["consents"])

    def _record_health(self) -> None:
        try:
            self.outbox.record("health", self.health())
        except CacheError as exc:
            log.error("health not recorded: %s", exc)

    def _register_builtin_commands(self) -> None:
        def reload(args: dict) -> dict:
            if self._client is not None and self.connected.is_set():
                # Subscribing again makes the broker resend every retained manifest.
                self._client.subscribe([(t, 1) for t in self._subscriptions()])
            return {"resubscribed": self.connected.is_set()}

        def clear_cache(args: dict) -> dict:
            removed = forget_lookups(self._cache)
            collected = self.bundles.media.collect({m["sha256"] for m in self.reader.wanted_media()}, grace_s=0)
            return {"lookup_profiles_removed": removed, "media_files_removed": len(collected)}

        def screenshot(args: dict) -> dict:
            raise RuntimeError("no screen is attached to this agent")

        self.commands.register("reload", reload)
        self.commands.register("report_health", lambda args: self.health())
        self.commands.register("clear_cache", clear_cache)
        self.commands.register("screenshot", screenshot)
        self.commands.register("override", self._override_command)

