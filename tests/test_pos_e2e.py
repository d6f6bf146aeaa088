"""End to end with a real broker: identify, send to phone, redeem at the till, head office's report.

Also the faults: offline redemption reconciled later, and one coupon redeemed on two devices
that were both offline, counted once and flagged.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from support import wait_for

from central.db import open_database
from central.fleet import fleet, format_fleet
from central.ingest import store_events
from central.offer_results import lift_report
from decisions import coupons
from decisions.caps import CapCounts
from decisions.consent import current_consents
from decisions.context import Context
from decisions.engine import Engine
from decisions.shopper import Shopper
from demo.store import ASSETS, load_assets
from pos.service import PosService
from sync.agent.connection import request_properties
from sync.cache.engine_state import Shown, record_offers_shown
from sync.cache.redemption import Issued, record_coupon_issued
from sync.clock import FixedClock

KEY = coupons.store_key(b"e2e chain coupon secret", "s001")
AFTERNOON = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 16:00 in Sofia, a Monday
TILL_KEY = "e2e-till-1-" + "5" * 40
TILLS = {"till-1": TILL_KEY.encode()}
BASKET = [{"sku": "DES-001", "qty": 1, "amount_cents": 450}, {"sku": "COF-002", "qty": 1, "amount_cents": 200}]


@pytest.fixture
def clock() -> FixedClock:
    """Head office, the agents and their tills on one clock, standing at AFTERNOON."""
    return FixedClock(AFTERNOON)


@pytest.fixture
def store_device(start_agent, device_config, responder, tmp_path):
    chain, store = load_assets(ASSETS)
    responder.publish_bundle("chain", chain)
    responder.publish_bundle("store/s001", store)

    def start(device: str = "pos-1") -> tuple:
        agent = start_agent(device_config(device=device, ack_timeout_s=2.0, health_interval_s=3600.0))
        wait_for(lambda: len(agent.reader.sync_state()) == 2, what="demo bundles applied")
        pos = PosService(agent, KEY, TILLS).start()
        return agent, pos

    services: list[PosService] = []

    def started(device: str = "pos-1"):
        agent, pos = start(device)
        services.append(pos)
        return agent, pos

    yield started
    for pos in services:
        pos.stop()


def post(url: str, body: dict, key: str = TILL_KEY) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/v1/redemptions", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def sweet_tooth_in_an_arm(agent) -> tuple[str, str]:
    engine = Engine.load(agent.reader, now=AFTERNOON)
    offer = next(o for o in engine.playbook.offers if o.id == "OFF-AFTERNOON-TREAT")
    from decisions.experiments import assign
    for p in sorted(json.loads((ASSETS / "profiles.json").read_text()), key=lambda p: p["profile_id"]):
        if "sweet_tooth" in p.get("segments", []) and p["consents"].get("personal_offers") == "granted":
            arm = assign(offer.experiment, p["profile_id"])
            if arm != "holdout":
                return p["profile_id"], arm
    raise AssertionError("the demo needs a consenting sweet-tooth shopper outside the holdout")


def test_identify_send_to_phone_redeem_and_count_in_the_right_arm(store_device, responder, clock):
    agent, pos = store_device()
    profile_id, expected_arm = sweet_tooth_in_an_arm(agent)
    # 1. identified at the kiosk (through the engine API), consenting
    profile = agent.reader.profile(profile_id, clock.time())
    shopper = Shopper.for_decision(profile, current_consents(profile, agent.reader.consent_history(profile_id)),
                                   agent.reader.basket_lines(profile_id))
    engine = Engine.load(agent.reader, now=AFTERNOON)
    ctx = Context(now=AFTERNOON, store="s001", region="south", device="pos-1", channel="kiosk")
    decision = engine.offers(ctx, shopper, CapCounts())
    choice = next(o for o in decision.offers if o.offer_id == "OFF-AFTERNOON-TREAT")
    assert choice.arm == expected_arm
    record_offers_shown(pos.cache, pos.desk.outbox, [Shown(choice.offer_id, profile_id, choice.arm, choice.variant,
                                                           list(choice.reasons), "afternoon|unknown")],
                        channel="kiosk", at=clock.time())
    # 2. sent to the phone
    offer = next(o for o in engine.playbook.offers if o.id == choice.offer_id)
    coupon = coupons.issue(KEY, store="s001", offer=offer, arm=choice.arm, expires_at=clock.time() + 3600,
                           serial=1)
    record_coupon_issued(pos.cache, pos.desk.outbox, Issued(coupon.code, offer.id, choice.arm, choice.variant,
                                                            profile_id, "s001", coupon.expires_at, clock.time()),
                         channel="kiosk", context="afternoon|unknown")
    # 3. redeemed at the till over HTTP
    status, answer = post(pos.http.url, {"code": coupon.code.lower(), "basket_id": "T1-1", "basket": BASKET})
    assert status == 200 and answer["accepted"] and answer["arm"] == expected_arm
    assert answer["discount_cents"] == 450 + 200 - 520  # the combo: cheesecake + americano for 5.20
    assert post(pos.http.url, {"code": coupon.code, "basket_id": "T1-2", "basket": BASKET})[1]["reason"] == \
        "already_used"
    # 4. the redemption reaches head office
    wait_for(lambda: responder.events.count("redeemed") == 1, what="redemption at head office")
    wait_for(lambda: responder.events.count("offer_sent_to_phone") == 1 and responder.events.count("offer_shown"))
    # 5. the lift report counts it in the right arm
    report = lift_report(responder.events.events(), {"OFF-AFTERNOON-TREAT": "DES-001"})
    cell = report["offers"]["OFF-AFTERNOON-TREAT"][expected_arm]
    assert (cell["shown"], cell["coupons"], cell["redeemed"]) == (1, 1, 1)
    assert report["double_spends"] == []
    redeemed = responder.events.events("redeemed")[0]["payload"]
    assert redeemed["profile_id"] == profile_id and redeemed["variant"] == choice.variant


def test_redemption_over_mqtt(store_device, broker, clock):
    agent, pos = store_device()
    offer = next(o for o in pos.desk.playbook().offers if o.id == "OFF-AFTERNOON-TREAT")
    code = coupons.issue(KEY, store="s001", offer=offer, arm=None, expires_at=clock.time() + 3600, serial=2).code
    till = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="till-1", protocol=mqtt.MQTTv5)
    answers: list[dict] = []
    got = threading.Event()
    subscribed = threading.Event()
    probe = b"probe"  # readiness probes' answers are not the test's

    def on_message(client, userdata, message) -> None:
        if getattr(message.properties, "CorrelationData", None) != probe:
            answers.append(json.loads(message.payload))
        got.set()

    till.on_message = on_message
    till.on_subscribe = lambda *_: subscribed.set()
    till.connect("127.0.0.1", broker.port)
    till.loop_start()
    reply_to = "se/v1/demo/pos/s001/answers/till-1"
    till.subscribe(reply_to, 1)
    assert subscribed.wait(5), "the till's subscription was not acknowledged"

    def device_answers() -> bool:  # the device subscribes on its own I/O thread: ask until it answers
        got.clear()
        till.publish(agent.topics.pos_redeem, b"{}", qos=1, properties=request_properties(reply_to, probe))
        return got.wait(0.2)

    wait_for(device_answers, what="the store device to answer on its redemption topic")
    good = {"code": code, "basket_id": "T9", "basket": BASKET}
    for body in (good, {**good, "basket_id": "T10"}, {**good, "basket": "all of it"}, good):
        got.clear()
        till.publish(agent.topics.pos_redeem, json.dumps(body), qos=1,
                     properties=request_properties(reply_to, uuid.uuid4().bytes))
        assert got.wait(5), "no answer from the store device"
    till.loop_stop()
    till.disconnect()
    assert [a["status"] for a in answers] == [200, 422, 400, 200]
    assert answers[0]["accepted"] and answers[1]["reason"] == "already_used"
    assert answers[3] == answers[0]  # the same basket again: the till lost the first answer
    assert answers[2]["message"] == "basket: must be a non-empty list of lines"


def test_offline_redemption_is_reconciled_later(store_device, broker, responder, clock):
    agent, pos = store_device()
    offer = next(o for o in pos.desk.playbook().offers if o.id == "OFF-AFTERNOON-TREAT")
    code = coupons.issue(KEY, store="s001", offer=offer, arm=None, expires_at=clock.time() + 3600, serial=2).code
    broker.kill()
    wait_for(lambda: not agent.connected.is_set(), what="agent offline")
    status, answer = post(pos.http.url, {"code": code, "basket_id": "T1-9", "basket": BASKET})
    assert status == 200 and answer["accepted"]  # the till is served with the broker down
    assert responder.events.count("redeemed") == 0
    broker.start()
    wait_for(lambda: responder.events.count("redeemed") == 1, timeout=30, what="redemption after reconnect")


def test_one_coupon_on_two_offline_devices_counts_once_and_is_flagged(store_device, broker, responder, clock):
    first, pos_1 = store_device("pos-1")
    second, pos_2 = store_device("pos-2")
    offer = next(o for o in pos_1.desk.playbook().offers if o.id == "OFF-AFTERNOON-TREAT")
    code = coupons.issue(KEY, store="s001", offer=offer, arm=None, expires_at=clock.time() + 3600, serial=2).code
    broker.kill()
    wait_for(lambda: not first.connected.is_set() and not second.connected.is_set(), what="both offline")
    assert post(pos_1.http.url, {"code": code, "basket_id": "A-1", "basket": BASKET})[1]["accepted"]
    assert post(pos_2.http.url, {"code": code, "basket_id": "B-1", "basket": BASKET})[1]["accepted"]
    broker.start()
    wait_for(lambda: responder.events.count("redeemed") == 2, timeout=30, what="both redemptions at head office")
    report = lift_report(responder.events.events())
    assert report["offers"]["OFF-AFTERNOON-TREAT"]["none"]["redeemed"] == 1
    (flag,) = report["double_spends"]
    assert flag["code"] == code and sorted(flag["redeemed_at"]) == ["s001/pos-1", "s001/pos-2"]


def test_the_tills_refusals_reach_the_fleet_view(store_device, responder, clock, tmp_path):
    agent, pos = store_device()
    good = {"code": "X", "basket_id": "T1", "basket": BASKET}
    assert post(pos.http.url, good, key="a-guess-" + "0" * 40)[0] == 401
    assert post(pos.http.url, good)[0] == 422
    assert agent.health()["pos"] == {"answered": 1, "unauthorized": 1, "rate_limited": 0, "timed_out": 0,
                                     "hung_up": 0, "busy": 0}
    agent.call_soon(agent._record_health)  # what the agent does every [sync] health_interval_s
    wait_for(lambda: responder.events.count("health") >= 1, what="the health report at head office")
    db = open_database(str(tmp_path / "central.db"))
    store_events(db, responder.events.events("health"), now=clock.time())
    (row,) = fleet(db, now=clock.time(), stale_after_s=60)
    assert row.device == "pos-1" and row.till_refusals == {"unauthorized": 1}
    view = format_fleet([row], now=clock.time())
    assert "TILL REFUSED: unauthorized=1" in view and "1 till endpoint(s) refused requests" in view
    db.close()
