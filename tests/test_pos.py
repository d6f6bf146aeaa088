"""Coupons and the till's endpoint: issue, verify offline, redeem once, refuse clearly."""

from __future__ import annotations

import dataclasses
import http.client
import io
import itertools
import json
import logging
import socket
import struct
import threading
import urllib.request
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import wait_for

from decisions import coupons
from decisions.context import DEFAULT_DAYPARTS
from decisions.playbook import Playbook
from demo.store import demo_cache
from pos.desk import Desk
from pos.http import MAX_BODY_BYTES, PosServer
from pos.qr import coupon_qr_png
from sync.cache.outbox import Outbox
from sync.clock import FixedClock
from sync.config import PosSection

SERIALS = itertools.count()
SECRET = b"demo chain coupon secret"
KEY = coupons.store_key(SECRET, "s001")
NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC).timestamp()
CROISSANT = {"sku": "PAS-001", "qty": 1, "amount_cents": 180}
CAPPUCCINO = {"sku": "COF-003", "qty": 1, "amount_cents": 260}
TILL_KEY = "till-1-key-" + "7" * 40
TILLS = {"till-1": TILL_KEY.encode(), "till-2": ("till-2-key-" + "8" * 40).encode()}
# Most tests are about the answers, not the rate: a burst none of them uses up on the still clock.
GENEROUS = PosSection(rate_burst=100_000)


@pytest.fixture
def desk(tmp_path):
    clock = FixedClock(NOW)
    cache = demo_cache(tmp_path / "cache.db", clock=clock)
    outbox = Outbox(cache, boot_id="b", device="kiosk-1", store="s001", clock=clock)
    yield Desk(cache, outbox, store="s001", coupon_key=KEY, clock=clock)
    cache.close()


@pytest.fixture
def serve(desk):
    """Starts the desk's endpoint with ``[pos]`` options over GENEROUS."""
    servers: list[PosServer] = []

    def start(**options: object) -> PosServer:
        servers.append(PosServer(desk, TILLS, options=dataclasses.replace(GENEROUS, **options)).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def store(desk, serve):
    return desk, serve(), desk.outbox


def offer(desk: Desk, offer_id: str):
    return next(o for o in desk.playbook().offers if o.id == offer_id)


def coupon_for(desk: Desk, offer_id: str = "OFF-MORNING-COMBO", *, store: str = "s001", key: bytes = KEY,
               expires: float = NOW + 86400) -> str:
    return coupons.issue(key, store=store, offer=offer(desk, offer_id), arm=None, expires_at=expires,
                         serial=next(SERIALS)).code


def post(server: PosServer, body: bytes | dict, path: str = "/v1/redemptions",
         headers: dict | None = None, key: str | None = TILL_KEY) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    req = urllib.request.Request(server.url + path, data=data, method="POST",
                                 headers={"Content-Type": "application/json", **auth, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def redeem(server, code, basket=(CAPPUCCINO, CROISSANT), basket_id="T1-0001"):
    return post(server, {"code": code, "basket_id": basket_id, "basket": list(basket)})


# --- the code ----------------------------------------------------------------------------------

def test_code_is_short_typable_and_survives_typing_slips(store):
    desk, _, _ = store
    code = coupon_for(desk)
    assert len(code) == 23 and code.count("-") == 3
    sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    check = coupons.verify(sloppy, KEY, store="s001", playbook=desk.playbook(), now=NOW)
    assert check.ok and check.offer.id == "OFF-MORNING-COMBO" and check.code == code


def test_each_bad_code_has_its_own_reason(store):
    desk, _, _ = store
    good = coupon_for(desk)
    pb = desk.playbook()

    def reason(code: object, *, key=KEY, store_id="s001", playbook=pb, now=NOW) -> str:
        return coupons.verify(code, key, store=store_id, playbook=playbook, now=now).reason

    assert reason(good) == "ok"
    assert reason(good[:-3]) == "malformed"
    assert reason("https://example.com/coupon") == "malformed"
    assert reason(None) == "malformed"
    last = good[-1]
    assert reason(good[:-1] + ("0" if last != "0" else "1")) == "forged"  # the MAC's last bits
    assert reason(good, key=coupons.store_key(b"someone else", "s001")) == "forged"
    assert reason(coupon_for(desk, store="s002", key=coupons.store_key(SECRET, "s002"))) == "wrong_store"
    assert reason(good, now=NOW + 2 * 86400) == "expired"
    without = Playbook.load([o.raw for o in pb.offers if o.id != "OFF-MORNING-COMBO"], DEFAULT_DAYPARTS)
    assert reason(good, playbook=without) == "unknown_offer"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=40), st.text(alphabet=coupons.ALPHABET + "-", min_size=20, max_size=23)))
def test_arbitrary_text_never_raises_and_never_passes(store, text):
    desk, _, _ = store
    check = coupons.verify(text, KEY, store="s001", playbook=desk.playbook(), now=NOW)
    assert not check.ok and check.reason in coupons.REASONS


def test_the_qr_code_reads_back_as_the_code(store):
    from PIL import Image
    from pyzbar.pyzbar import decode

    desk, _, _ = store
    code = coupon_for(desk)
    found = decode(Image.open(io.BytesIO(coupon_qr_png(code))))
    assert [f.data.decode() for f in found] == [code]


# --- redemption at the till ----------------------------------------------------------------------

def test_redeem_once_with_the_combo_discount(store):
    desk, server, outbox = store
    code = coupon_for(desk)
    status, body = redeem(server, code)
    assert status == 200 and body["accepted"] and body["offer"] == "OFF-MORNING-COMBO"
    assert body["discount_cents"] == 260 + 180 - 390
    status, again = redeem(server, code, basket_id="T1-0002")
    assert status == 422 and again["reason"] == "already_used" and "already been used" in again["message"]
    events = [json.loads(r.wire) for r in outbox.window(after_seq=0, limit=10)]
    assert [e["type"] for e in events] == ["redeemed"]
    assert events[0]["payload"]["code"] == code and events[0]["payload"]["discount_cents"] == 50


def test_a_retry_of_the_same_redemption_gets_the_same_answer(store):
    desk, server, outbox = store
    code = coupon_for(desk, expires=NOW + 3600)
    first = redeem(server, code, basket_id="T1-0007")
    assert first[0] == 200 and first[1]["accepted"]
    assert redeem(server, code, basket_id="T1-0008")[1]["reason"] == "already_used"  # another basket
    bigger = (CAPPUCCINO, CROISSANT, {"sku": "TEA-003", "qty": 1, "amount_cents": 220})
    assert redeem(server, code, basket=bigger, basket_id="T1-0007")[1]["reason"] == "already_used"
    desk.clock.advance(2 * 3600)  # the answer was lost; the till asks again after the coupon's hour
    retyped = code.lower().replace("-", " ")
    assert redeem(server, retyped, basket=(CROISSANT, CAPPUCCINO), basket_id="T1-0007") == first
    assert [json.loads(r.wire)["type"] for r in outbox.window(after_seq=0, limit=10)] == ["redeemed"]


def test_refusals_name_their_reason(store):
    desk, server, _ = store
    assert redeem(server, coupon_for(desk), basket=[{"sku": "TEA-003", "qty": 1, "amount_cents": 220}])[1][
        "reason"] == "not_applicable"
    status, expired = redeem(server, coupon_for(desk, expires=NOW - 7200))
    assert status == 422 and expired["reason"] == "expired" and expired["message"] == "This coupon has expired."
    other = coupon_for(desk, store="s002", key=coupons.store_key(SECRET, "s002"))
    assert redeem(server, other)[1]["reason"] == "wrong_store"
    good = coupon_for(desk)
    forged = good[:-1] + ("Z" if good[-1] != "Z" else "Y")
    assert redeem(server, forged)[1]["reason"] == "forged"
    soon = coupon_for(desk, expires=NOW + 3 * 3600)
    desk.clock.advance(4 * 3600)  # the till's request is judged by the desk's clock
    assert redeem(server, soon)[1]["reason"] == "expired"


def test_two_tills_at_once_only_one_wins(store):
    desk, server, _ = store
    code = coupon_for(desk)
    results: list[int] = []
    threads = [threading.Thread(target=lambda i=i: results.append(redeem(server, code, basket_id=f"T{i}")[0]))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [422] * 7


@pytest.mark.parametrize("body, status, words", [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (json.dumps({"code": 7, "basket_id": "T", "basket": [CAPPUCCINO]}).encode(), 400, "code:"),
    (json.dumps({"code": "X", "basket_id": "T", "basket": []}).encode(), 400, "basket: must be a non-empty"),
    (json.dumps({"code": "X", "basket_id": "T", "basket": [{"sku": "A", "qty": "2", "amount_cents": 1}]}).encode(),
     400, "basket[0].qty"),
    (json.dumps({"code": "X", "basket_id": "T", "basket": [{"sku": "A", "amount_cents": 1.5}]}).encode(),
     400, "basket[0].amount_cents"),
    (json.dumps({"code": "X", "basket": [CAPPUCCINO]}).encode(), 400, "basket_id:"),
    (b"{" + b'"a":' * 1 + b"[" * 5000 + b"]" * 5000 + b"}", 400, ""),
])
def test_malformed_requests_get_a_4xx_with_a_reason(store, body, status, words):
    _, server, _ = store
    got, answer = post(server, body)
    assert got == status and words in answer["message"]


def test_huge_body_unknown_path_and_health(store):
    _, server, _ = store
    got, answer = post(server, b"x" * (MAX_BODY_BYTES + 1))
    assert got == 413 and answer["error"] == "too_large"
    assert post(server, {"a": 1}, path="/v1/nope")[0] == 404
    with urllib.request.urlopen(server.url + "/v1/health", timeout=5) as resp:
        assert json.loads(resp.read()) == {"ok": True, "store": "s001"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                    lambda c: st.lists(c, max_size=5) | st.dictionaries(
                        st.sampled_from(["code", "basket", "basket_id", "sku", "qty", "amount_cents", "x"]), c,
                        max_size=5), max_leaves=20))
def test_fuzzed_bodies_never_crash_the_endpoint(store, doc):
    _, server, _ = store
    status, answer = post(server, json.dumps(doc).encode())
    assert status in (400, 422) and (answer.get("message") or answer.get("reason"))


def test_codes_never_collide_within_a_store(store):
    desk, _, _ = store
    combo = offer(desk, "OFF-MORNING-COMBO")
    codes = {coupons.issue(KEY, store="s001", offer=combo, arm=None, expires_at=NOW + 3600,
                           serial=coupons.serial_for(device, n)).code for device in (0, 1, 15) for n in range(1500)}
    assert len(codes) == 4500
    with pytest.raises(ValueError):
        coupons.serial_for(16, 0)
    with pytest.raises(ValueError):
        coupons.serial_for(0, 4096)


# --- the door: load, slow and idle clients, keys, rate, JSON for everything ------------------------

def exchange(server: PosServer, request: bytes) -> tuple[int, dict, dict]:
    """Send raw bytes, read one answer: (status, JSON body, headers)."""
    with socket.create_connection(server.server_address[:2], timeout=5) as sock:
        sock.sendall(request)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, json.loads(resp.read()), dict(resp.getheaders())


def redemption_request(body: dict, key: str = TILL_KEY, extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    return (f"POST /v1/redemptions HTTP/1.1\r\nHost: till\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}\r\n").encode() + data


def test_200_tills_at_the_same_instant_are_all_answered(store):
    desk, server, outbox = store
    codes = [coupon_for(desk) for _ in range(200)]
    start = threading.Barrier(200)
    results: list[object] = []

    def till(i: int) -> None:
        start.wait()
        try:
            results.append(redeem(server, codes[i], basket_id=f"T{i}")[0])
        except OSError as exc:
            results.append(repr(exc))

    threads = [threading.Thread(target=till, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 200
    assert len(outbox.window(after_seq=0, limit=500)) == 200  # each one's event, nothing lost


def test_slow_and_idle_connections_are_closed_at_their_deadline_while_others_are_served(serve):
    server = serve(request_timeout_s=0.5, idle_timeout_s=0.5, workers=2)
    slow = socket.create_connection(server.server_address[:2], timeout=5)
    slow.sendall(b"POST /v1/redemptions HTTP/1.1\r\nHost: till\r\n")  # and never the rest
    idle = socket.create_connection(server.server_address[:2], timeout=5)
    for _ in range(3):  # both workers are held, yet each till is served in turn
        assert post(server, {"code": "X", "basket_id": "T", "basket": [CAPPUCCINO]})[0] == 422
    answer = slow.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408 ") and b'"error": "timeout"' in answer
    assert slow.recv(10) == b"" and idle.recv(10) == b""  # closed, not held open
    assert server.counts()["timed_out"] == 1
    slow.close()
    idle.close()


def test_a_till_without_a_valid_key_gets_401_and_it_is_logged_and_counted(store, caplog):
    _, server, _ = store
    caplog.set_level(logging.INFO, logger="store_edge.pos")
    for key in (None, "wrong-" + "0" * 40, TILL_KEY[:-1]):
        status, body = post(server, {"code": "X", "basket_id": "T", "basket": [CAPPUCCINO]}, key=key)
        assert status == 401 and body["error"] == "unauthorized" and "Bearer" in body["message"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["pos: refused a request from 127.0.0.1 without a valid till key"]  # once a minute
    assert server.counts()["unauthorized"] == 3
    assert post(server, {"code": "X", "basket_id": "T", "basket": [CAPPUCCINO]},
                key=TILLS["till-2"].decode())[0] == 422  # the other till's own key works


def test_over_its_rate_a_till_gets_429_with_retry_after_and_it_is_counted(desk, serve, caplog):
    server = serve(rate_per_s=0.5, rate_burst=3)
    body = {"code": "X", "basket_id": "T", "basket": [CAPPUCCINO]}
    assert [post(server, body)[0] for _ in range(3)] == [422] * 3
    status, refused, headers = exchange(server, redemption_request(body))
    assert status == 429 and refused["error"] == "rate_limited" and headers["Retry-After"] == "2"
    assert post(server, body, key=TILLS["till-2"].decode())[0] == 422  # each till has its own rate
    desk.clock.advance(2)  # the rate goes by the desk's clock
    assert post(server, body)[0] == 422
    assert "till till-1 at 127.0.0.1 is over its request rate" in caplog.text
    # a guesser: its 401s run out too
    assert {post(server, body, key="guess-" + "1" * 40)[0] for _ in range(12)} == {401, 429}
    assert server.counts()["rate_limited"] >= 3 and server.counts()["unauthorized"] == 10


@pytest.mark.parametrize("request_bytes, status, error", [
    (b"PUT /v1/redemptions HTTP/1.1\r\nHost: till\r\nContent-Length: 0\r\n\r\n", 405, "method_not_allowed"),
    (b"\x16\x03\x01 garbage \xff\r\n\r\n", 400, "bad_request"),
    (b"GET /v1/health HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "headers_too_large"),
    (b"GET /v1/health HTTP/7.0\r\n\r\n", 505, "bad_version"),
])
def test_every_refusal_is_json(store, request_bytes, status, error):
    _, server, _ = store
    got, body, headers = exchange(server, request_bytes)
    assert (got, body["error"]) == (status, error) and body["message"]
    assert headers["Content-Type"] == "application/json; charset=utf-8"


def test_a_till_that_hangs_up_early_is_one_log_line_without_a_traceback(store, caplog, capfd):
    desk, server, _ = store
    caplog.set_level(logging.DEBUG, logger="store_edge")
    sock = socket.create_connection(server.server_address[:2], timeout=5)
    sock.sendall(redemption_request({"code": coupon_for(desk), "basket_id": "T1", "basket": [CAPPUCCINO]})[:-20])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # a reset, mid-body
    wait_for(lambda: any("hung up" in r.getMessage() or r.exc_info for r in caplog.records),
             what="the hang-up noticed")
    assert [r.getMessage() for r in caplog.records if "hung up" in r.getMessage()] == [
        "pos: the till at 127.0.0.1 hung up (Connection reset by peer)"]
    assert not [r for r in caplog.records if r.exc_info] and "Traceback" not in capfd.readouterr().err
    assert redeem(server, coupon_for(desk))[0] == 200  # and the endpoint carries on
    assert server.counts()["hung_up"] == 1


def test_each_answer_leaves_in_one_write_with_nagle_off(store, monkeypatch):
    """Keep-alive is as fast as a new connection: a head and a body written apart would wait for the
    till's delayed ACK. The figures are in benchmarks/pos_bench.py; here, the mechanism."""
    desk, server, _ = store
    writes: list[tuple[int, int]] = []
    send_all = socket.socket.sendall

    def spy(sock: socket.socket, data: bytes, *args: object) -> None:
        if threading.current_thread() is not threading.main_thread():  # the endpoint's, not the test's
            writes.append((sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), len(data)))
        return send_all(sock, data, *args)

    monkeypatch.setattr(socket.socket, "sendall", spy)
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=5)
    for i in range(3):  # one kept-alive connection
        conn.request("POST", "/v1/redemptions", json.dumps({"code": coupon_for(desk), "basket_id": f"T{i}",
                                                            "basket": [CAPPUCCINO, CROISSANT]}),
                     {"Authorization": f"Bearer {TILL_KEY}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["accepted"]
    conn.close()
    assert len(writes) == 3 and all(nodelay for nodelay, _ in writes)
