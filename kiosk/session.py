"""One shopper's visit to the kiosk, from identification to goodbye. No Kivy here.

The screens call these methods and draw what comes back; every rule is the engine's
(``decisions``) and every write goes through ``sync.cache``. A session holds the only references
to the shopper's data; ``end()`` drops them all, and the kiosk keeps no copy anywhere else.

Steps and the events they write (in the same transaction as the state they record):
- ``identify_qr`` / ``identify_phone`` -> ``identified`` (profile id, method; never the number);
- ``save_consent`` -> ``consent_given`` / ``consent_withdrawn`` per purpose, with the wording version;
- ``offers`` -> ``offer_shown`` (+ ``offer_held_out``) and impressions for caps;
- ``send_to_phone`` -> ``offer_sent_to_phone`` with the coupon code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from decisions import coupons
from decisions.caps import count, windows
from decisions.consent import PURPOSES, current_consents
from decisions.context import Context, weather_from_observation
from decisions.engine import Engine
from decisions.identity import phone as phones
from decisions.identity import qr
from decisions.menus import MenuDecision
from decisions.offers import OfferChoice, OfferDecision, offer_price
from decisions.reasons import Reason
from decisions.shopper import Shopper
from pos.qr import coupon_qr_png
from signage.schedule import Schedule, ScheduleError, evaluate
from signage.text_fill import fill_text_item
from sync.cache.db import Cache, CacheError
from sync.cache.engine_state import Shown, impressions_since, record_offers_shown
from sync.cache.outbox import Outbox
from sync.cache.profiles import record_consent
from sync.cache.read import CacheReader
from sync.cache.redemption import Issued, issued_count, record_coupon_issued
from sync.cache.weather import latest_weather
from sync.clock import Clock
from sync.protocol.signing import TrustedKeys

from .shopper_lines import shopper_line

log = logging.getLogger("store_edge.kiosk")
CONSENT_WORDING = "kiosk-consent-2026-11"
COUPON_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Store:
    """What the kiosk knows about where it stands; from the device config."""

    chain: str
    region: str
    store: str
    device: str
    timezone: str
    country: str
    device_index: int = 0  # this device's number in its store, 0-15, unique there (coupon serials)


@dataclass(frozen=True)
class AttractSlide:
    headline: str
    body: str = ""
    image: Path | None = None  # the picture of the product the slide names (its ``sku``), once its file is here


@dataclass
class Identified:
    ok: bool
    message: str = ""  # an msgid of the kiosk's catalogues (the phone or QR module's English message)
    region: str | None = None  # fills in phones.INVALID_IN: the country a number is not valid in
    first_name: str | None = None  # only shown after consent
    known: bool = False


@dataclass
class SentCoupon:
    code: str
    qr_png: bytes
    offer_id: str


@dataclass
class Session:
    profile: dict | None = None
    consents: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    shown: OfferDecision | None = None


class KioskService:
    """The kiosk's link to the engine and the cache. One per app; sessions come and go."""

    def __init__(self, cache: Cache, outbox: Outbox, store: Store, *, qr_keys: TrustedKeys, phone_key: bytes,
                 coupon_key: bytes, engine: Callable[[], Engine], clock: Clock,
                 lookup: Callable[[str, str], dict | None] | None = None, media_dir: Path | None = None):
        self.cache = cache
        self.outbox = outbox
        self.reader = CacheReader(cache, media_dir)
        self.store = store
        self.qr_keys = qr_keys
        self.phone_key = phone_key
        self.coupon_key = coupon_key
        self.engine = engine
        self.clock = clock
        self.lookup = lookup
        self.session = Session()

    # --- identification --------------------------------------------------------------------
    def attract_slides(self, lang: str) -> list[AttractSlide]:
        """The text slides head office schedules for the store's main screen right now, by the signage
        schedule's own rules (dayparts, weekdays, dates, priorities): the attract loop never shows the
        morning deal in the afternoon. A slide from a text template (a product and its price) keeps its
        headline, as the signage screen draws it; a slide that names a product (``sku``) brings its picture.
        Empty when nothing with text is scheduled."""
        r = self.reader
        try:
            schedule = Schedule.from_docs(r.schedules(), self.store.timezone)
        except ScheduleError as exc:
            log.warning("attract screen: the store's schedules do not load (%s); showing the store's name", exc)
            return []
        active, _ = evaluate(schedule, self.clock.now())
        playlists = {p["id"]: p for p in r.playlists()}
        slots = [slot if isinstance(slot, str) else slot["item"]
                 for playlist in active.playlists("main") for slot in playlists.get(playlist, {}).get("items", ())]
        items = {item["id"]: item for item in r.content_items()}
        templates = {t["id"]: t for t in r.text_templates()}
        slides = []
        for doc in (items[i] for i in dict.fromkeys(slots) if i in items):
            if doc.get("kind") != "text" or not doc.get("text"):
                continue
            try:
                headline, body = fill_text_item(doc, templates.get(doc.get("template", "")), lang)
            except (KeyError, ValueError, IndexError) as exc:
                log.warning("attract screen: slide %s does not fill (%s); left out", doc["id"], exc)
                continue
            slides.append(AttractSlide(headline, body, self.product_image(doc.get("sku"))))
        return slides

    def identify_qr(self, text: str) -> Identified:
        check = qr.verify_token(text, self.qr_keys, now=self.clock.time())
        if not check.ok:
            return Identified(False, check.message)
        return self._identified("profile_id", check.profile_id, "qr", proof=("qr_token", text))

    def phone_preview(self, digits: str) -> phones.PhoneResult:
        """As the shopper types: the number formatted for the store's country, or what is wrong."""
        return phones.normalise(digits, self.store.country)

    def identify_phone(self, digits: str) -> Identified:
        result = phones.normalise(digits, self.store.country)
        if not result.ok:
            return Identified(False, phones.INVALID_IN if result.region else result.message, region=result.region)
        digest = phones.phone_hash(result.e164, self.phone_key)
        return self._identified("phone_hash", digest, "phone", proof=("phone_hash", digest))

    def _identified(self, key: str, value: str, method: str, *, proof: tuple[str, str]) -> Identified:
        """``proof`` is what head office needs to answer for this shopper: the phone hash or the QR token."""
        now = self.clock.time()
        if key == "profile_id":
            profile = self.reader.profile(value, now)
        else:
            profile = self.reader.profile_by_phone_hash(value, now)
        if profile is None and self.lookup is not None:
            profile = self.lookup(*proof)  # "unknown" after the timeout: go on without one
        self.session = Session(profile=profile, method=method)
        if profile is not None:
            ledger = self.reader.consent_history(profile["profile_id"])
            self.session.consents = current_consents(profile, ledger)
        self._event("identified", {"profile_id": profile["profile_id"] if profile else None, "method": method,
                                   "known": profile is not None})
        return Identified(True, known=profile is not None)

    # --- consent -----------------------------------------------------------------------------
    def save_consent(self, choices: dict[str, bool]) -> None:
        """One tap per purpose; "No thanks" is every purpose False. A shopper head office does not
        know has no profile to record it against and is served anonymously."""
        profile = self.session.profile
        if profile is None:
            return
        now = self.clock.time()
        for purpose in PURPOSES:
            status = "granted" if choices.get(purpose) else "denied"
            previous = self.session.consents.get(purpose)
            if previous == "granted" and status == "denied":
                status = "withdrawn"
            record_consent(self.cache, self.outbox, profile_id=profile["profile_id"], purpose=purpose,
                           status=status, wording_version=CONSENT_WORDING, channel="kiosk", at=now)
            self.session.consents[purpose] = status

    def consent_on_record(self) -> bool:
        """Has this shopper already said yes or no to every purpose (here or elsewhere in the chain)?"""
        return all(self.session.consents.get(p, "unknown") != "unknown" for p in PURPOSES)

    def greeting_name(self) -> str | None:
        """The first name, only with consent to personal offers."""
        if self.shopper().personal:
            return (self.session.profile or {}).get("first_name")
        return None

    def shopper(self) -> Shopper:
        profile = self.session.profile
        if profile is None:
            return Shopper.anonymous()
        history = self.reader.basket_lines(profile["profile_id"])
        return Shopper.for_decision(profile, self.session.consents, history)

    # --- offers and the menu -------------------------------------------------------------------
    def context(self) -> Context:
        obs = latest_weather(self.cache, self.store.store)
        weather = weather_from_observation(obs.as_dict()) if obs else None
        s = self.store
        return Context(now=self.clock.now(), store=s.store, region=s.region, device=s.device, channel="kiosk",
                       timezone=s.timezone, weather=weather)

    def offers(self, k: int = 6, lang: str = "en") -> OfferDecision:
        ctx = self.context()
        shopper = self.shopper()
        caps = count(windows(ctx.now, ctx.timezone), lambda since, pid: impressions_since(self.cache, since, pid),
                     shopper.profile_id)
        now = ctx.now.timestamp()
        decision = self.engine().offers(ctx, shopper, caps, k=k, seed=int(now * 1000), lang=lang)
        context = f"{ctx.daypart or 'any'}|{ctx.current_weather.band if ctx.current_weather else 'unknown'}"
        self._write(lambda: record_offers_shown(self.cache, self.outbox, [
            Shown(o.offer_id, shopper.profile_id, o.arm, o.variant, list(o.reasons), context)
            for o in decision.offers], channel="kiosk", held_out=list(decision.held_out),
            profile_id=shopper.profile_id, at=now, global_holdout=decision.global_holdout))
        self.session.shown = decision
        return decision

    def offers_explained(self) -> list[tuple[str, str]]:
        """For a technician: what the kiosk would offer a shopper it does not know, now, with the engine's
        full reasons, and what it left out and why. Nothing is recorded: a look is not an impression."""
        ctx = self.context()
        caps = count(windows(ctx.now, ctx.timezone), lambda since, pid: impressions_since(self.cache, since, pid), None)
        decision = self.engine().offers(ctx, Shopper.anonymous(), caps, k=6, seed=0)
        return [("Offers now", "; ".join(decision.reasons)),
                *(("Offer", f"{o.offer_id}: {'; '.join(o.reasons)}") for o in decision.offers),
                *(("Left out", f"{offer_id}: {why}") for offer_id, why in decision.skipped.items())]

    def menu(self, lang: str = "en") -> MenuDecision:
        return self.engine().menu(self.context(), lang=lang, limit=12)

    def image(self, choice: OfferChoice) -> Path | None:
        """The offer's product picture, once its verified file is in the media folder."""
        return self.product_image(choice.sku)

    def product_image(self, sku: str | None) -> Path | None:
        """A product's picture, once its verified file is in the media folder; None for no product or picture."""
        product = self.engine().catalog.products.get(sku or "")
        sha = product.get("image") if product else None
        return self.reader.media_path(sha) if sha else None

    def shopper_line(self, choice: OfferChoice, lang: str) -> Reason | None:
        """The one friendly line a shopper reads under the offer (``kiosk.shopper_lines``); the engine's
        full reasons stay in the events, for staff and for a technician."""
        catalog = self.engine().catalog
        return shopper_line(choice, lambda sku: catalog.name(sku, lang))

    def price(self, choice: OfferChoice) -> tuple[int, str] | None:
        """(cents, currency) the shopper pays with this offer, or None when it has no price."""
        return offer_price(choice.raw, self.engine().catalog)

    # --- send to phone ---------------------------------------------------------------------------
    def send_to_phone(self, choice: OfferChoice) -> SentCoupon:
        offer = next(o for o in self.engine().playbook.offers if o.id == choice.offer_id)
        ctx = self.context()
        now = ctx.now.timestamp()
        expires = coupons.expiry_slot(now + COUPON_TTL_S)
        serial = coupons.serial_for(self.store.device_index, issued_count(self.cache, offer.id, expires))
        coupon = coupons.issue(self.coupon_key, store=self.store.store, offer=offer, arm=choice.arm,
                               expires_at=expires - 1, serial=serial)
        shopper = self.shopper()
        record_coupon_issued(self.cache, self.outbox, Issued(
            coupon.code, offer.id, choice.arm, choice.variant, shopper.profile_id, self.store.store,
            coupon.expires_at, now), channel="kiosk",
            context=f"{ctx.daypart or 'any'}|{ctx.current_weather.band if ctx.current_weather else 'unknown'}")
        return SentCoupon(coupon.code, coupon_qr_png(coupon.code), offer.id)

    # --- goodbye -------------------------------------------------------------------------------
    def end(self) -> None:
        """Forget the shopper: nothing of theirs stays reachable from the kiosk's objects."""
        self.session = Session()

    def _event(self, type: str, payload: dict) -> None:
        self._write(lambda: self.outbox.record(type, payload))

    @staticmethod
    def _write(write: Callable[[], object]) -> None:
        """A full disk must not stop the shopper's visit: say so in the log and go on."""
        try:
            write()
        except CacheError as exc:
            log.error("kiosk: could not record: %s", exc)
