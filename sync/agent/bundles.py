"""The bundle worker: verify, fetch, validate and apply bundles off the MQTT thread.

Bundles arrive on the I/O thread and queue here, so a large apply or a slow download
never stalls keepalives or the outbox drain. Every outcome is one log line naming the
scope and the version.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests

from ..cache.bundles import ContentRefused, StaleVersion, applied_version, apply_bundle
from ..cache.db import Cache, CacheError
from ..cache.read import CacheReader
from ..clock import Clock
from ..media import MediaError, MediaFetcher
from ..protocol import bundle as wire
from ..protocol.acceptance import JUDGED, REFERRED, Known, check_content
from ..protocol.content import ContentError, validate
from ..protocol.signing import TrustedKeys
from ..runtime import gc_paused

log = logging.getLogger("store_edge.sync.bundles")
MAX_RETRY_DELAY_S = 300.0
MAX_REASONS = 50  # per content_rejected event; the log line says how many there were


class DownloadFailed(Exception):
    """The content URL could not be read now; the bundle is tried again later."""


@dataclass(frozen=True)
class Arrival:
    stream: str      # the version sequence: a scope, or "profiles:store/<s>"
    scope: str       # the scope the manifest must name
    mode: str        # the mode this topic carries
    payload: bytes


@dataclass(frozen=True)
class Rejection:
    stream: str
    version: int
    reasons: list[str]
    applied: int  # the version the device keeps


class BundleWorker(threading.Thread):
    """``on_rejected`` hears once per stream and version of every bundle refused (the device keeps its last
    good content); ``on_applied`` of every bundle applied; ``on_erased`` of the profiles an erase delta purged,
    inside the apply's transaction."""

    def __init__(self, *, cache_path: str, media: MediaFetcher, chain: str, keys: TrustedKeys,
                 on_applied: Callable[[wire.Manifest], None], clock: Clock, max_bytes: int | None = None,
                 on_rejected: Callable[[Rejection], None] = lambda rejection: None,
                 on_erased: Callable[[sqlite3.Connection, list[str]], None] | None = None):
        super().__init__(name="sync-bundles", daemon=True)
        self.clock = clock
        self.cache_path = cache_path
        self.max_bytes = max_bytes
        self.media = media
        self.chain = chain
        self.keys = keys
        self.on_applied = on_applied
        self.on_rejected = on_rejected
        self.on_erased = on_erased
        # stream -> (version, arrival) of the last bundle refused: tried again after another stream applies,
        # since a store's prices may wait for the chain's products.
        self._refused: dict[str, tuple[int, Arrival]] = {}
        self.inbox: queue.Queue[Arrival | None] = queue.Queue()
        self.session = requests.Session()
        self.counts = {"applied": 0, "ignored": 0, "rejected": 0, "failed": 0, "deferred": 0}
        self.retry_base_s = 2.0
        self._retries: dict[str, tuple[bytes, int]] = {}  # stream -> (payload, attempts)
        self.idle = threading.Event()
        self.idle.set()

    def submit(self, arrival: Arrival) -> None:
        self.idle.clear()
        self.inbox.put(arrival)

    def stop(self) -> None:
        self.inbox.put(None)

    def run(self) -> None:
        cache = Cache(self.cache_path, max_bytes=self.max_bytes)
        reader = CacheReader(cache, self.media.dir)
        self.fetch_media(reader)
        while (arrival := self.inbox.get()) is not None:
            try:
                self.handle(cache, arrival)
            except Exception:  # a bug here must not kill the worker
                log.exception("bundle worker: unexpected error on %s", arrival.stream)
                self.counts["failed"] += 1
            if self.inbox.empty():
                self.fetch_media(reader)
                self.idle.set()
        cache.close()

    def handle(self, cache: Cache, arrival: Arrival) -> None:
        if not arrival.payload:
            return  # a cleared retained message
        try:
            manifest = wire.parse_manifest(arrival.payload, chain=self.chain, scope=arrival.scope)
            if manifest.mode != arrival.mode:
                raise wire.BundleRejected(f"a {manifest.mode} bundle on a {arrival.mode} topic",
                                          manifest.scope, manifest.version)
            wire.verify_signature(manifest, self.keys)
            current = applied_version(cache, arrival.stream)
            if manifest.version <= current:
                log.info("bundle ignored: scope=%s version=%d reason=version %d is already applied",
                         arrival.stream, manifest.version, current)
                self.counts["ignored"] += 1
                self._refused.pop(arrival.stream, None)
                return
            data = self._content_bytes(manifest)
            wire.verify_content(manifest, data)
            with gc_paused():
                try:
                    content = validate(wire.decode_content(data), delta=manifest.mode == "delta")
                except ContentError as exc:
                    raise wire.BundleRejected(f"invalid content: {exc}", manifest.scope, manifest.version) from None
                applied = apply_bundle(cache, stream=arrival.stream, scope=manifest.scope,
                                       version=manifest.version, sha256=manifest.sha256, mode=manifest.mode,
                                       content=content, at=self.clock.time(),
                                       accept=self._acceptable(cache, manifest, content),
                                       on_erased=self.on_erased)
                del content
        except wire.BundleRejected as exc:
            self._refuse(cache, arrival, exc.version, [exc.reason])
            return
        except ContentRefused as exc:
            self._refuse(cache, arrival, manifest.version, exc.reasons)
            return
        except StaleVersion as exc:
            log.info("bundle ignored: scope=%s reason=%s", arrival.stream, exc)
            self.counts["ignored"] += 1
            return
        except DownloadFailed as exc:
            self._retry_later(arrival, manifest, str(exc))
            return
        except CacheError as exc:
            log.error("bundle not applied: scope=%s version=%s reason=%s", arrival.stream, manifest.version, exc)
            self.counts["failed"] += 1
            return
        self._retries.pop(arrival.stream, None)
        summary = ", ".join(f"{n} {k}" for k, n in applied.counts.items())
        log.info("bundle applied: scope=%s version=%d (%s)", arrival.stream, applied.version, summary)
        self.counts["applied"] += 1
        self._refused.pop(arrival.stream, None)
        for _, again in list(self._refused.values()):
            self.submit(again)
        self.on_applied(manifest)

    def _acceptable(self, cache: Cache, manifest: wire.Manifest, content: dict) -> Callable[[], list[str]] | None:
        """The check run inside the apply: the bundle's items, naming into what the cache will then hold."""
        items = {name: content[name] for name in JUDGED if name in content}
        if not items:
            return None
        reader = CacheReader(cache)

        def besides(name: str) -> str:
            # A snapshot leaves its scope holding exactly the sections it names: read only the other scopes from
            # SQLite for those (parsing 20k product names again would cost a tenth of the apply).
            return manifest.scope if manifest.mode == "snapshot" and name in content else ""

        def reasons() -> list[str]:
            own = Known.of(content)
            known = Known({name: own.keys[name] | reader.keys(name, besides=besides(name)) for name in REFERRED},
                          tuple(sorted({*own.languages, *reader.name_languages(besides=besides("products"))})))
            return [str(p) for p in check_content(items, known)]

        return reasons

    def _refuse(self, cache: Cache, arrival: Arrival, version: object, reasons: list[str]) -> None:
        log.error("bundle rejected: scope=%s version=%s reason=%s%s", arrival.stream, version, reasons[0],
                  f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else "")
        self.counts["rejected"] += 1
        if not isinstance(version, int):
            return  # not even a manifest: nothing to name
        seen = self._refused.get(arrival.stream)
        self._refused[arrival.stream] = (version, arrival)
        if seen is None or seen[0] != version:
            self.on_rejected(Rejection(arrival.stream, version, reasons[:MAX_REASONS],
                                       applied_version(cache, arrival.stream)))

    def _content_bytes(self, manifest: wire.Manifest) -> bytes:
        if manifest.content_b64 is not None:
            return wire.inline_content(manifest)
        try:
            resp = self.session.get(manifest.url, timeout=30)
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise DownloadFailed(f"content download failed ({exc.__class__.__name__}: {exc})") from None
        return resp.content

    def _retry_later(self, arrival: Arrival, manifest: wire.Manifest, reason: str) -> None:
        """Try the same manifest again with backoff, unless a newer one for the stream arrives first."""
        payload, attempts = self._retries.get(arrival.stream, (b"", 0))
        attempts = attempts + 1 if payload == arrival.payload else 1
        self._retries[arrival.stream] = (arrival.payload, attempts)
        delay = min(self.retry_base_s * 2 ** (attempts - 1), MAX_RETRY_DELAY_S)
        log.warning("bundle deferred: scope=%s version=%d reason=%s; retry %d in %.0fs",
                    arrival.stream, manifest.version, reason, attempts, delay)
        self.counts["deferred"] += 1

        def again() -> None:
            if self._retries.get(arrival.stream, (None,))[0] == arrival.payload:
                self.submit(arrival)

        timer = threading.Timer(delay, again)
        timer.daemon = True
        timer.start()

    def fetch_media(self, reader: CacheReader) -> None:
        """Fetch every media file the cache refers to and is missing; then collect the unused."""
        wanted = reader.wanted_media()
        self.media.referenced = {m["sha256"] for m in wanted}
        for item in wanted:
            try:
                self.media.ensure(item["sha256"], item["url"], item["size"])
            except MediaError as exc:
                log.error("%s", exc)
        removed = self.media.collect({m["sha256"] for m in wanted})
        if removed:
            log.info("media collected: %d files no content uses", len(removed))
