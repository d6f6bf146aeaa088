"""The till's local HTTP endpoint. Every answer is JSON; a bad request gets a 4xx with a reason.

    POST /v1/redemptions  {"code", "basket_id", "basket": [{"sku", "qty", "amount_cents"}]}
        200 {"accepted": true, "discount_cents": 41, ...}
        422 {"accepted": false, "reason": "already_used" | "expired" | "wrong_store" | "forged" | ...}
    GET  /v1/health       200 {"ok": true, "store": "s001"}

See docs/pos.md for every status and field.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .desk import Desk, answer

log = logging.getLogger("store_edge.pos")
MAX_BODY_BYTES = 64 * 1024


class PosServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, desk: Desk, host: str = "127.0.0.1", port: int = 0):
        self.desk = desk
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PosServer:
        self._thread = threading.Thread(target=self.serve_forever, name="pos-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: PosServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: object) -> None:
        log.debug("pos %s " + fmt, self.client_address[0], *args)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, reason: str, message: str) -> None:
        self._send(status, {"error": reason, "message": message})

    def do_GET(self) -> None:
        if self.path == "/v1/health":
            self._send(200, {"ok": True, "store": self.server.desk.store})
        else:
            self._error(404, "not_found", f"no such endpoint: GET {self.path}")

    def do_POST(self) -> None:
        try:
            if self.path != "/v1/redemptions":
                self._drain()
                self._error(404, "not_found", f"no such endpoint: POST {self.path}")
                return
            raw = self._body()
            if raw is not None:
                self._send(*answer(self.server.desk, raw))
        except Exception:  # the till gets an answer, the endpoint keeps running, the log has the rest
            log.exception("pos: unexpected error on %s", self.path)
            self._error(500, "internal_error", "the store device could not process this request; try again")

    def _drain(self) -> None:
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= MAX_BODY_BYTES:
            self.rfile.read(int(length))

    def _body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._error(411, "length_required", "send the body with a Content-Length header")
            self.close_connection = True
            return None
        if int(length) > MAX_BODY_BYTES:
            self._error(413, "too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
            self.close_connection = True
            return None
        return self.rfile.read(int(length))
