"""The till's local HTTP endpoint. Every answer is JSON; a bad request gets a 4xx with a reason.

    POST /v1/redemptions  Authorization: Bearer <the till's key>
                          {"code", "basket_id", "basket": [{"sku", "qty", "amount_cents"}]}
        200 {"accepted": true, "discount_cents": 41, ...}
        422 {"accepted": false, "reason": "already_used" | "expired" | "wrong_store" | "forged" | ...}
        401 {"error": "unauthorized"}   429 {"error": "rate_limited"} with Retry-After
    GET  /v1/health       200 {"ok": true, "store": "s001"}

The server: the stdlib's HTTP/1.1 parser on a bounded pool of workers (``[pos] workers``) behind a
listen backlog of ``[pos] backlog``. A new connection must begin its request within ``request_timeout_s``
and the request's head and body must arrive within that of its first byte; a kept-alive connection waits
at most ``idle_timeout_s`` for the next one (a moment only while others wait), so a slow or idle client
holds a worker only that long. Each answer leaves in one write with Nagle off: a
head and a body written apart wait for the till's delayed ACK (40 ms) on a kept-alive connection.

See docs/pos.md for every status and field.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer

from sync.config import PosSection
from sync.limits import QuietLog, TokenBucket

from .desk import Desk, answer

log = logging.getLogger("store_edge.pos")
DEFAULT_OPTIONS = PosSection()
MAX_BODY_BYTES = 64 * 1024
# A peer without a valid key may try this many times, then once every 10 s: a till with a wrong key
# gets its 401s, a guesser gets nowhere.
FAILED_AUTH_BURST = 10
FAILED_AUTH_PER_S = 0.1
REFUSAL_LOG_EVERY_S = 60.0
# How long an idle connection keeps its worker while other connections wait for one.
IDLE_SLICE_S = 0.25
# What the endpoint counts for the device's health report (and so head office's fleet view).
COUNTERS = ("answered", "unauthorized", "rate_limited", "timed_out", "hung_up", "busy")
ERRORS = {400: "bad_request", 405: "method_not_allowed", 408: "timeout", 411: "length_required",
          413: "too_large", 414: "too_long", 431: "headers_too_large", 505: "bad_version"}


def till_for(keys: Mapping[str, bytes], authorization: str | None) -> str | None:
    """The till whose key is in ``Authorization: Bearer <key>``, or None. Every key is compared, each in
    constant time, so the time taken does not tell a guesser which key came close."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    given = token.strip().encode()
    found = None
    for till, key in keys.items():
        if hmac.compare_digest(given, key):
            found = till
    return found


class PosServer(HTTPServer):
    """``tills``: till id -> key (``sync.config.read_till_keys``). ``options``: the ``[pos]`` section's
    backlog, workers, timeouts and rate (its bind and port are ``host`` and ``port`` here).
    Rates go by the desk's clock; timeouts by ``time.monotonic``."""

    def __init__(self, desk: Desk, tills: Mapping[str, bytes], host: str = "127.0.0.1", port: int = 0, *,
                 options: PosSection = DEFAULT_OPTIONS):
        self.desk = desk
        self.tills = dict(tills)
        self.options = options
        self.request_queue_size = options.backlog
        self.per_till = TokenBucket(options.rate_per_s, options.rate_burst, clock=desk.clock)
        self.per_peer = TokenBucket(FAILED_AUTH_PER_S, FAILED_AUTH_BURST, clock=desk.clock)
        self.refusals = QuietLog(log, every_s=REFUSAL_LOG_EVERY_S, clock=desk.clock)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._waiting = 0
        self._open: set[socket.socket] = set()
        self._pool = ThreadPoolExecutor(options.workers, thread_name_prefix="pos-http")
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PosServer:
        self._thread = threading.Thread(target=self.serve_forever, name="pos-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        with self._lock:
            for conn in self._open:
                _shut(conn)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for conn in self._open:  # the ones still waiting when the pool was shut down
            conn.close()

    def counts(self) -> dict[str, int]:
        """What the endpoint did since it started, by kind (``COUNTERS``): for the device's health report."""
        with self._lock:
            return {kind: self._counts[kind] for kind in COUNTERS}

    def count(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1

    def busy(self) -> bool:
        """Connections are waiting for a worker: a kept-alive one is closed after its answer to make room."""
        return self._waiting > 0

    def process_request(self, request: socket.socket, client_address: tuple) -> None:
        with self._lock:
            full = self._waiting >= self.options.backlog
            if not full:
                self._waiting += 1
                self._open.add(request)
        if full:
            self.count("busy")
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        self._pool.submit(self._serve, request, client_address)

    def _serve(self, request: socket.socket, client_address: tuple) -> None:
        with self._lock:
            self._waiting -= 1
        try:
            self.finish_request(request, client_address)
        except OSError as exc:  # reset, broken pipe, or a write that timed out: the till is gone
            self.count("hung_up")
            log.info("pos: the till at %s hung up (%s)", client_address[0], exc.strerror or type(exc).__name__)
        except Exception:
            log.exception("pos: unexpected error serving %s", client_address[0])
        finally:
            with self._lock:
                self._open.discard(request)
            self.shutdown_request(request)


def _shut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone


def _refuse_busy(conn: socket.socket) -> None:
    """Answer 503 without a worker (all are busy and the queue is full); a till that does not read loses it."""
    conn.setblocking(False)
    try:
        conn.send(_response(503, {"error": "busy", "message": "the store device is busy; try again"},
                            close=True, extra={"Retry-After": "1"}))
    except OSError:
        pass  # it will retry or time out; nothing was done for it


def _response(status: int, body: dict, *, close: bool, extra: Mapping[str, str] | None = None) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Server: store-edge-pos",
             f"Date: {formatdate(usegmt=True)}", "Content-Type: application/json; charset=utf-8",
             f"Content-Length: {len(data)}"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


class _DeadlineReader(io.RawIOBase):
    """The connection's reads, each given only the time left until ``deadline`` (monotonic): a client that
    trickles a byte at a time is cut off at the deadline, not at the next silence."""

    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.deadline = 0.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        self.conn.settimeout(left)
        return self.conn.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    server: PosServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader)

    def _request_begins(self) -> bool:
        """True once a request's first byte is here. False to close the connection: the till closed it, or
        sent nothing within ``request_timeout_s`` of connecting, or, kept alive after an answer, stayed idle
        for ``idle_timeout_s``, or for a moment while other connections wait for a worker."""
        options = self.server.options
        first = self._reader.deadline == 0.0
        idle_until = time.monotonic() + (options.request_timeout_s if first else options.idle_timeout_s)
        while True:
            self._reader.deadline = idle_until if first else min(idle_until, time.monotonic() + IDLE_SLICE_S)
            try:
                return bool(self.rfile.peek(1))
            except TimeoutError:
                if first or self.server.busy() or time.monotonic() >= idle_until:
                    return False

    def handle_one_request(self) -> None:
        options = self.server.options
        if not self._request_begins():
            self.close_connection = True
            return
        self._reader.deadline = time.monotonic() + options.request_timeout_s
        self.command, self.request_version, self.path, self.requestline = "", "HTTP/1.1", "", ""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
                return
            if not self.parse_request():
                return
            method = getattr(self, f"do_{self.command}", None)
            if method is None:
                self._send(405, {"error": "method_not_allowed", "message": f"{self.command[:16]!r} is not"
                                 " served here; use POST /v1/redemptions or GET /v1/health"},
                           extra={"Allow": "GET, POST"}, close=True)
                return
            method()
        except TimeoutError:
            self.server.count("timed_out")
            log.info("pos: %s did not send its request within %.0f s; closed",
                     self.client_address[0], options.request_timeout_s)
            self._send(408, {"error": "timeout", "message": "the request did not arrive in time"}, close=True)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib parser's refusals (garbage request line, header too long, bad version) as JSON."""
        self._send(code, {"error": ERRORS.get(code, "bad_request"),
                          "message": (message or HTTPStatus(code).phrase)[:200]}, close=True)

    def log_message(self, fmt: str, *args: object) -> None:
        log.debug("pos %s " + fmt, self.client_address[0], *args)

    def _send(self, status: int, body: dict, *, close: bool = False, extra: Mapping[str, str] | None = None) -> None:
        if close or self.server.busy():
            self.close_connection = True
        self.connection.settimeout(self.server.options.request_timeout_s)
        self.log_request(status)
        self.wfile.write(_response(status, body, close=self.close_connection, extra=extra))

    def do_GET(self) -> None:
        if self.path == "/v1/health":
            self._send(200, {"ok": True, "store": self.server.desk.store})
        else:
            self._send(404, {"error": "not_found", "message": f"no such endpoint: GET {self.path[:100]}"})

    def do_POST(self) -> None:
        if self.path != "/v1/redemptions":
            self._drain()
            self._send(404, {"error": "not_found", "message": f"no such endpoint: POST {self.path[:100]}"})
            return
        if not self._admitted():
            return
        raw = self._body()
        if raw is None:
            return
        try:
            status, body = answer(self.server.desk, raw)
        except Exception:  # the till gets an answer, the endpoint keeps running, the log has the rest
            log.exception("pos: unexpected error on %s", self.path)
            status, body = 500, {"error": "internal_error",
                                 "message": "the store device could not process this request; try again"}
        self.server.count("answered")
        self._send(status, body)

    def _admitted(self) -> bool:
        """A known till within its rate; else a 401 or 429 is sent, counted, and logged at most once a minute."""
        server, peer = self.server, self.client_address[0]
        till = till_for(server.tills, self.headers.get("Authorization"))
        if till is None:
            if not server.per_peer.take(peer):
                self._limited(server.per_peer, peer, f"{peer} without a valid till key")
                return False
            server.count("unauthorized")
            server.refusals.warning("unauthorized", "pos: refused a request from %s without a valid till key", peer)
            self._send(401, {"error": "unauthorized", "message": "send this till's key: Authorization: Bearer <key>"},
                       close=True, extra={"WWW-Authenticate": 'Bearer realm="store-edge-pos"'})
            return False
        if not server.per_till.take(till):
            self._limited(server.per_till, till, f"till {till} at {peer}")
            return False
        return True

    def _limited(self, bucket: TokenBucket, key: str, who: str) -> None:
        wait = math.ceil(max(1.0, bucket.retry_after(key)))
        self.server.count("rate_limited")
        self.server.refusals.warning("rate_limited", "pos: %s is over its request rate; answered 429", who)
        self._send(429, {"error": "rate_limited", "message": f"too many requests; try again in {wait} s"},
                   close=True, extra={"Retry-After": str(wait)})

    def _drain(self) -> None:
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= MAX_BODY_BYTES:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._send(411, {"error": "length_required", "message": "send the body with a Content-Length header"},
                       close=True)
            return None
        if int(length) > MAX_BODY_BYTES:
            self._send(413, {"error": "too_large", "message": f"the body must be at most {MAX_BODY_BYTES} bytes"},
                       close=True)
            return None
        raw = self.rfile.read(int(length))
        if len(raw) < int(length):
            raise ConnectionAbortedError(0, "the body ended before its Content-Length")
        return raw
