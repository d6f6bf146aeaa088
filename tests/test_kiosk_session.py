"""The kiosk's session logic over the demo store's cache (no window)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from support import reachable

from decisions import coupons
from decisions.engine import Engine
from decisions.identity import qr
from demo.store import demo_cache
from kiosk.session import KioskService, Store
from sync.cache.outbox import Outbox
from sync.cache.read import CacheReader
from sync.clock import FixedClock
from sync.protocol import signing

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 08:30 in Sofia
PHONE_KEY = b"demo-chain-phone-key-2026"
STORE = Store("demo", "south", "s001", "kiosk-1", "Europe/Sofia", "BG")


@pytest.fixture
def kiosk(tmp_path):
    cache = demo_cache(tmp_path / "cache.db", clock=FixedClock(NOW))
    clock = FixedClock(NOW)
    outbox = Outbox(cache, boot_id="b", device="kiosk-1", store="s001", clock=clock)
    key = signing.generate_private_key()
    engine = Engine.load(CacheReader(cache), now=clock.now())
    service = KioskService(cache, outbox, STORE, qr_keys=signing.TrustedKeys([key.public_key()]),
                           phone_key=PHONE_KEY, coupon_key=coupons.store_key(b"s", "s001"),
                           engine=lambda: engine, clock=clock)
    yield service, key, outbox
    cache.close()


def events(outbox: Outbox) -> list[dict]:
    return [json.loads(r.wire) for r in outbox.window(after_seq=0, limit=1000)]


def test_phone_identification_consent_offers_and_goodbye(kiosk):
    service, _, outbox = kiosk
    assert service.phone_preview("0899100101").formatted == "089 910 0101"  # Bulgaria's national format
    assert not service.identify_phone("0899").ok and "short" in service.identify_phone("0899").message
    assert service.identify_phone("0899 100 116").ok  # c-0016 had said no to personal offers
    assert service.greeting_name() is None and service.shopper().personal is False
    service.save_consent({"personal_offers": True, "e_receipt": True, "marketing": False})
    assert service.greeting_name() == "Владимир"
    decision = service.offers()
    assert decision.mode == "personal" and decision.offers
    sent = service.send_to_phone(decision.offers[0])
    image = cv2.imdecode(np.frombuffer(sent.qr_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert text == sent.code
    types = [e["type"] for e in events(outbox)]
    assert types[:1] == ["identified"] and types.count("consent_given") == 3
    assert "offer_shown" in types and types[-1] == "offer_sent_to_phone"
    assert all("100116" not in json.dumps(e) for e in events(outbox))  # never the number
    assert reachable(service, "Владимир") and reachable(service, "c-0016")
    service.end()
    assert not reachable(service, "Владимир") and not reachable(service, "c-0016")
    assert service.greeting_name() is None


def test_no_thanks_gives_anonymous_offers(kiosk):
    service, _, _ = kiosk
    service.identify_phone("+359 899 100 101")
    service.save_consent({})
    assert service.offers().mode == "anonymous"
    assert service.greeting_name() is None


def test_qr_identification_and_its_refusals(kiosk):
    service, key, _ = kiosk
    now = service.clock.time()
    token = qr.issue_token(key, "c-0002", now=now, ttl_s=600)
    assert service.identify_qr(token).ok and service.session.profile["profile_id"] == "c-0002"
    assert "expired" in service.identify_qr(qr.issue_token(key, "c-0002", now=now - 7200, ttl_s=600)).message
    service.clock.advance(600 + 61)  # past its ten minutes and the minute's leeway for a device's clock
    assert "expired" in service.identify_qr(token).message
    assert not service.identify_qr("5901234123457").ok


def test_a_shopper_head_office_must_look_up_is_asked_for_with_the_proof_they_gave(kiosk):
    service, key, _ = kiosk
    asked = []
    service.lookup = lambda key, value: asked.append((key, value)) or None
    token = qr.issue_token(key, "c-7f3a", now=service.clock.time(), ttl_s=600)  # not in the store's cache
    service.identify_qr(token)
    service.identify_phone("0899 555 123")
    assert asked[0] == ("qr_token", token)  # the signed token, never the bare profile id
    assert asked[1][0] == "phone_hash" and len(asked[1][1]) == 64


def test_what_the_kiosk_records_is_stamped_with_its_clock(kiosk):
    service, _, _ = kiosk
    service.identify_phone("0899100101")
    service.save_consent({"personal_offers": True})
    sent = service.send_to_phone(service.offers().offers[0])
    at = NOW.timestamp()
    assert service.cache.query("SELECT DISTINCT at FROM impressions") == [(at,)]  # what the caps count
    issued, expires = service.cache.query("SELECT issued_at, expires_at FROM coupons WHERE code = ?", (sent.code,))[0]
    assert issued == at and at + 7 * 86400 <= expires < at + 7 * 86400 + 3600  # a week, to the end of its hour


def test_an_offer_shows_its_product_picture_once_the_verified_file_is_here(tmp_path):
    import hashlib

    from sync.cache.bundles import apply_bundle

    picture = cv2.imencode(".png", np.full((60, 80, 3), (40, 90, 200), np.uint8))[1].tobytes()
    sha = hashlib.sha256(picture).hexdigest()
    cache = demo_cache(tmp_path / "cache.db", clock=FixedClock(NOW))
    products = CacheReader(cache).products()
    clock = FixedClock(NOW)
    apply_bundle(cache, stream="device/kiosk-1", scope="device/kiosk-1", version=1, sha256="y", mode="delta",
                 content={"products": [dict(p, image=sha) for p in products],
                          "media": [{"sha256": sha, "url": "http://ho/m", "size": len(picture)}]}, at=clock.time())
    engine = Engine.load(CacheReader(cache), now=clock.now())
    media = tmp_path / "media"
    media.mkdir()
    service = KioskService(cache, Outbox(cache, boot_id="b", device="kiosk-1", store="s001", clock=clock), STORE,
                           qr_keys=signing.TrustedKeys([]), phone_key=PHONE_KEY, coupon_key=b"k" * 32,
                           engine=lambda: engine, clock=clock, media_dir=media)
    choice = next(c for c in service.offers().offers if c.sku)
    assert service.image(choice) is None  # not downloaded yet: the card shows no picture, not a broken one
    (media / sha).write_bytes(picture)
    assert service.image(choice) == media / sha
    cache.close()


@pytest.mark.parametrize(("at", "shown", "not_shown"), [
    (NOW, ["Every weekday until 11:00", "Cappuccino + butter croissant: €3.90 until 11:00"],
     ["3 pm slump? Cheesecake + americano for €5.20"]),
    (datetime(2026, 11, 23, 11, 25, tzinfo=UTC), ["Warm up, lunch is served"],   # Monday 13:25
     ["Every weekday until 11:00", "Cappuccino + butter croissant: €3.90 until 11:00"]),
    (datetime(2026, 11, 28, 6, 30, tzinfo=UTC), ["Saturday and Sunday: banitsa + ayran for €2.90"],  # Sat 08:30
     ["Every weekday until 11:00"]),
    (datetime(2026, 11, 29, 21, 30, tzinfo=UTC), [],  # Sunday 23:30: only the house loop
     ["Every weekday until 11:00", "After 18:00 our sourdough loaves are 30% off"]),
])
def test_the_attract_loop_shows_what_the_schedule_plays_now(kiosk, at, shown, not_shown):
    service, _, _ = kiosk
    service.clock.set(at)
    slides = service.attract_slides("en")
    texts = [t for slide in slides for t in (slide.headline, slide.body)]
    assert slides, "some text slide is always scheduled in the demo store"
    assert all(t in texts for t in shown), texts
    assert not any(t in texts for t in not_shown), texts


def test_the_attract_loop_speaks_the_screens_language(kiosk):
    service, _, _ = kiosk
    slides = service.attract_slides("bg")
    assert ("Капучино + кроасан  3,90\xa0€", "Всеки делничен ден до 11:00") in [(s.headline, s.body) for s in slides]


def test_a_promo_slide_on_the_attract_loop_keeps_its_product_and_price(kiosk):
    service, _, _ = kiosk
    slides = {slide.body: slide.headline for slide in service.attract_slides("en")}
    assert slides["Every weekday until 11:00"] == "Cappuccino + croissant  €3.90"
