"""The staff tablet's logic: PIN login, customer lookup with consent, recommendations, outcomes. No Kivy here.

Same app, tablet profile: the screens (``kiosk.tablet``) call these methods and draw what comes back,
like the kiosk's screens over ``kiosk.session.KioskService``. Every rule is the engine's and every
write goes through ``sync.cache``.

Messages are plain English msgids from the kiosk catalogs with their placeholders in ``args``; the
screen translates them: ``tr(result.message).format(**result.args)``.

What it writes:
- ``login``: the PIN attempt state (``pin_attempts``), so a lockout survives a restart;
- ``lookup_customer`` with the customer's spoken agreement: a ``consent_given`` ledger row for
  ``personal_offers`` (channel ``tablet``, wording :data:`CONSENT_WORDING`) and its event;
- ``record_outcome``: an ``assisted_sales`` row and an ``assisted_sale`` event, in one transaction. One
  conversation (one customer, until ``next_customer``, a lookup of someone else or logout) has one outcome:
  another tap amends it, so Contacted, then Purchased, then Add-on sold is one contact who bought.

Without the customer's agreement nothing is looked up, hashed or recorded. ``logout`` (and the
tablet's inactivity lock) drops the staff member and the customer: nothing of theirs stays
reachable from the service.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from decisions.consent import current_consents
from decisions.context import Context, weather_from_observation
from decisions.engine import Engine
from decisions.identity import phone as phones
from decisions.identity import qr
from decisions.identity.pins import PIN_RULE, PinCheck, check_pin
from decisions.recommendations import Suggestion
from decisions.shopper import Shopper
from sync.cache.db import Cache, CacheError
from sync.cache.engine_state import pin_state, save_pin_state
from sync.cache.outbox import Outbox
from sync.cache.profiles import record_consent
from sync.cache.read import CacheReader
from sync.cache.staff_log import assisted_sales_since, record_assisted_sale
from sync.cache.weather import latest_weather
from sync.clock import Clock
from sync.protocol.events import uuid7
from sync.protocol.signing import TrustedKeys

from .session import Store

CONSENT_WORDING = "tablet-assisted-2026-11"
LAST_PURCHASES = 5

# msgids (kiosk/locale/*/LC_MESSAGES/kiosk.po)
WRONG_PIN = "Wrong PIN. {tries} tries left."
LOCKED = "Locked. Try again in {minutes} min."
UNKNOWN_STAFF = "Unknown staff member."
BAD_HASH = "This PIN can't be checked on this device. Please ask head office to reset it."
ASK_FIRST = "Ask the customer for permission before you look them up."
NOT_FOUND = "No customer found for this number or code."
NOT_SAVED = "The customer's consent could not be saved. Nothing was looked up."


def attempt_pin(cache: Cache, staff_id: str, staff: dict, pin: str, *, now: float, max_failures: int = 5,
                lockout_s: float = 300) -> PinCheck:
    """One PIN attempt by a staff member from the cache, with the lockout state kept in the cache
    (so it survives a restart). The tablet's login and the kiosk's maintenance screen both use it."""
    failures, locked_until = pin_state(cache, staff_id)
    result = check_pin(staff.get("pin_hash", ""), pin, failures=failures, locked_until=locked_until, now=now,
                       max_failures=max_failures, lockout_s=lockout_s)
    if (result.failures, result.locked_until) != (failures, locked_until):
        save_pin_state(cache, staff_id, result.failures, result.locked_until)
    return result


def login_result(result: PinCheck, max_failures: int) -> LoginResult:
    """A PIN attempt as the message a login screen shows."""
    if result.ok:
        return LoginResult(True, status="ok")
    if result.status == "locked":
        return LoginResult(False, LOCKED, {"minutes": max(1, math.ceil(result.retry_after_s / 60))}, "locked")
    if result.status == "wrong":
        return LoginResult(False, WRONG_PIN, {"tries": max_failures - result.failures % max_failures}, "wrong")
    if result.status == "invalid_pin":
        return LoginResult(False, PIN_RULE, status="invalid_pin")
    return LoginResult(False, BAD_HASH, status=result.status)


class NotLoggedIn(RuntimeError):
    """A staff-only action with nobody logged in."""


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    message: str = ""  # an msgid; fill in ``args`` after translating it
    args: dict = field(default_factory=dict)
    status: str = ""  # check_pin's status, or "unknown_staff"

    @property
    def text(self) -> str:
        """The message in English."""
        return self.message.format(**self.args)


@dataclass(frozen=True)
class StaffMember:
    id: str
    name: str
    role: str


@dataclass(frozen=True)
class Purchase:
    sku: str
    name: str
    qty: int
    at: str  # ISO date of the basket, in the store's time zone


@dataclass(frozen=True)
class CustomerView:
    """What the tablet shows of a customer who agreed to be looked up."""

    profile_id: str
    first_name: str | None
    segments: tuple[str, ...]
    rfm_tier: str | None
    last_purchases: tuple[Purchase, ...]
    recommendations: tuple[Suggestion, ...]


@dataclass(frozen=True)
class LookupResult:
    ok: bool
    message: str = ""  # an msgid, or the phone/QR module's English message
    customer: CustomerView | None = None

    @property
    def text(self) -> str:
        return self.message


@dataclass(frozen=True)
class Conversation:
    """The outcome recorded so far for the customer being served: its id, row and whom it was with."""

    id: str
    row_id: int
    profile_id: str | None


@dataclass(frozen=True)
class Kpis:
    """One staff member's day: customers contacted, how many of them bought, add-ons sold."""

    contacts: int
    conversions: int
    conversion_rate: float  # conversions / contacts, 0.0 with no contacts
    add_ons: int


class StaffService:
    """The tablet's link to the engine and the cache. One per app; staff members log in and out."""

    def __init__(self, cache: Cache, outbox: Outbox, store: Store, *, phone_key: bytes, qr_keys: TrustedKeys,
                 engine: Callable[[], Engine], clock: Clock,
                 lookup: Callable[[str, str], dict | None] | None = None, max_failures: int = 5,
                 lockout_s: float = 300, media_dir: Path | None = None):
        self.cache = cache
        self.outbox = outbox
        self.reader = CacheReader(cache, media_dir)  # media: the brand's logo and font
        self.store = store
        self.phone_key = phone_key
        self.qr_keys = qr_keys
        self.engine = engine
        self.clock = clock
        self.lookup = lookup
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.staff: StaffMember | None = None
        self.customer: CustomerView | None = None
        self._profile: dict | None = None
        self.conversation: Conversation | None = None

    # --- login ---------------------------------------------------------------------------------
    def staff_members(self) -> list[StaffMember]:
        """Who may log in on this device: the staff in the cache (names and roles, never the hashes)."""
        ids = [row[0] for row in self.cache.query("SELECT DISTINCT id FROM staff ORDER BY id")]
        members = [(sid, self.reader.staff(sid)) for sid in ids]
        return [StaffMember(sid, s.get("name", sid), s.get("role", "")) for sid, s in members if s]

    def login(self, staff_id: str, pin: str) -> LoginResult:
        """Check a PIN with the persisted lockout (``decisions.identity.pins``); ok logs the staff member in."""
        staff = self.reader.staff(staff_id)
        if staff is None:
            return LoginResult(False, UNKNOWN_STAFF, status="unknown_staff")
        result = attempt_pin(self.cache, staff_id, staff, pin, now=self.clock.time(),
                             max_failures=self.max_failures, lockout_s=self.lockout_s)
        if result.ok:
            self.staff = StaffMember(staff_id, staff.get("name", staff_id), staff.get("role", ""))
            self.clear_customer()
        return login_result(result, self.max_failures)

    def logout(self) -> None:
        """Log out and forget the customer."""
        self.staff = None
        self.next_customer()

    def _staff_id(self) -> str:
        if self.staff is None:
            raise NotLoggedIn("log in first")
        return self.staff.id

    # --- customers -----------------------------------------------------------------------------
    def lookup_customer(self, text: str, customer_agrees: bool, *, lang: str = "en") -> LookupResult:
        """Look a customer up by the phone number typed on the keypad or the text of their app's QR code.

        Only with the customer's agreement, given there and then: without it nothing is looked up.
        With it, the agreement goes into the consent ledger before their data is shown.
        """
        self._staff_id()
        self.clear_customer()
        if not customer_agrees:
            return LookupResult(False, ASK_FIRST)
        text = (text or "").strip()
        now = self.clock.time()
        if text.startswith(qr.PREFIX):  # SE1.… (another version gets its own message)
            check = qr.verify_token(text, self.qr_keys, now=now)
            if not check.ok:
                return LookupResult(False, check.message)
            key, value, proof = "profile_id", check.profile_id, ("qr_token", text)
        else:
            number = phones.normalise(text, self.store.country)
            if not number.ok:
                return LookupResult(False, number.message)
            key, value = "phone_hash", phones.phone_hash(number.e164, self.phone_key)
            proof = (key, value)
        if key == "profile_id":
            profile = self.reader.profile(value, now)
        else:
            profile = self.reader.profile_by_phone_hash(value, now)
        if profile is None and self.lookup is not None:
            profile = self.lookup(*proof)  # head office answers only with the customer's proof, never a bare id
        if profile is None:
            return LookupResult(False, NOT_FOUND)
        profile_id = profile["profile_id"]
        if self.conversation is not None and self.conversation.profile_id != profile_id:
            self.conversation = None  # someone else: the last conversation's outcome stands
        try:
            record_consent(self.cache, self.outbox, profile_id=profile_id, purpose="personal_offers",
                           status="granted", wording_version=CONSENT_WORDING, channel="tablet", at=now)
        except CacheError:
            return LookupResult(False, NOT_SAVED)
        self._profile = profile
        self.customer = self._view(profile, lang)
        return LookupResult(True, customer=self.customer)

    def customer_in(self, lang: str) -> CustomerView | None:
        """The current customer's view again, with product names in another language (no new consent)."""
        if self._profile is None:
            return None
        self.customer = self._view(self._profile, lang)
        return self.customer

    def _view(self, profile: dict, lang: str) -> CustomerView:
        profile_id = profile["profile_id"]
        consents = current_consents(profile, self.reader.consent_history(profile_id))
        history = self.reader.basket_lines(profile_id)
        shopper = Shopper.for_decision(profile, consents, history)
        engine = self.engine()
        return CustomerView(
            profile_id=profile_id,
            first_name=profile.get("first_name"),
            segments=tuple(profile.get("segments") or ()),
            rfm_tier=(profile.get("rfm") or {}).get("tier"),
            last_purchases=self._last_purchases(history, engine, lang),
            recommendations=tuple(engine.recommendations(self.context(), shopper, lang=lang)),
        )

    def _last_purchases(self, history: Sequence[dict], engine: Engine, lang: str) -> tuple[Purchase, ...]:
        tz = ZoneInfo(self.store.timezone)
        latest = sorted(history, key=lambda line: line["at"], reverse=True)[:LAST_PURCHASES]
        return tuple(Purchase(line["sku"], engine.catalog.name(line["sku"], lang), line.get("qty", 1),
                              datetime.fromisoformat(line["at"].replace("Z", "+00:00")).astimezone(tz).date()
                              .isoformat())
                     for line in latest)

    def clear_customer(self) -> None:
        """Forget the customer on screen (their conversation's outcome may still be amended)."""
        self.customer = None
        self._profile = None

    def next_customer(self) -> None:
        """The conversation is over: forget the customer; the next outcome is someone else's."""
        self.clear_customer()
        self.conversation = None

    def add_ons(self, basket_skus: Sequence[str], *, lang: str = "en", k: int = 3) -> list[Suggestion]:
        """What goes with the basket being built on the tablet."""
        return self.engine().add_ons(self.context(basket_skus), k=k, lang=lang)

    def context(self, basket: Sequence[str] = ()) -> Context:
        obs = latest_weather(self.cache, self.store.store)
        weather = weather_from_observation(obs.as_dict()) if obs else None
        s = self.store
        return Context(now=self.clock.now(), store=s.store, region=s.region, device=s.device, channel="tablet",
                       timezone=s.timezone, weather=weather, basket=tuple(basket))

    # --- outcomes and KPIs -----------------------------------------------------------------------
    def record_outcome(self, contacted: bool, purchased: bool, add_ons_sold: int,
                       basket_skus: Sequence[str] = ()) -> str:
        """This conversation's outcome, written locally for the KPIs and sent to head office; a second call
        before ``next_customer`` replaces the first. Returns the event id."""
        staff_id = self._staff_id()
        if add_ons_sold and not purchased:
            raise ValueError("add-ons sold without a purchase")
        profile_id = self.customer.profile_id if self.customer else None
        if self.conversation is not None and profile_id is None:
            profile_id = self.conversation.profile_id
        at = self.clock.time()
        conversation_id = self.conversation.id if self.conversation else uuid7(int(at * 1000))
        recorded = record_assisted_sale(self.cache, self.outbox, staff_id=staff_id, profile_id=profile_id,
                                        contacted=contacted, purchased=purchased, add_ons=add_ons_sold,
                                        basket=list(basket_skus), at=at, conversation_id=conversation_id,
                                        amends=self.conversation.row_id if self.conversation else None)
        self.conversation = Conversation(conversation_id, recorded.row_id, profile_id)
        return recorded.event_id

    def today(self) -> Kpis:
        """The logged-in staff member's KPIs for today (midnight to midnight in the store's time zone).

        contacts: conversations with a contact; conversions: of those, the ones that bought; add-ons: all
        add-ons sold today. A conversation counts once, with its last outcome.
        """
        staff_id = self._staff_id()
        tz = ZoneInfo(self.store.timezone)
        day = self.clock.now().astimezone(tz).date()
        start = datetime.combine(day, time(0), tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tz)
        rows = assisted_sales_since(self.cache, staff_id, start.timestamp(), end.timestamp())
        contacts = sum(1 for r in rows if r.contacted)
        conversions = sum(1 for r in rows if r.contacted and r.purchased)
        return Kpis(contacts, conversions, conversions / contacts if contacts else 0.0, sum(r.add_ons for r in rows))
