"""The preview's form: what a person asked to see (a store or one of its devices, a moment in the store's own time,
the weather, live content or with the offer drafts), checked field by field with the reason in words; the job the
renderer gets; and the schedule's day as a timeline the page draws."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from central.content_files import Store
from central.device_view import DeviceView
from decisions.context import WEATHER_CODES
from signage.schedule import Schedule, day_spans, evaluate, explain

WEATHER_WORDS = {"clear": "Clear", "cloudy": "Cloudy", "rain": "Rain", "snow": "Snow", "storm": "Storm"}
# The rain a preview assumes for each sky (mm an hour), as a weather service reports it with that sky.
PRECIPITATION = {"clear": 0.0, "cloudy": 0.0, "rain": 2.0, "snow": 1.0, "storm": 8.0}
TEMPERATURES = (-40.0, 50.0)
YEARS = (2000, 2100)
LANGUAGES = {"en": "English", "bg": "Български", "ru": "Русский"}
DEFAULT_TIMEZONE = "Europe/Sofia"  # a store that stores.csv gives no zone: the devices' own default


class BadPreview(ValueError):
    """What to change in the form, in words."""


@dataclass(frozen=True)
class Ask:
    store: Store
    device: str  # empty: the store's own content, no device's
    local: datetime  # in the store's zone
    weather: str
    temperature_c: float
    drafts: bool
    lang: str

    @property
    def timezone(self) -> str:
        return self.local.tzinfo.key

    def job(self, view: DeviceView, chain: str) -> dict:
        s = self.store
        return {"store": {"chain": chain, "region": s.region, "store": s.store, "device": self.device,
                          "timezone": self.timezone, "country": s.country, "name": s.display_name},
                "at": self.local.timestamp(), "lang": self.lang, "bundles": view.bundles,
                "media": {sha: str(path.resolve()) for sha, path in view.media.items()},
                "weather": {"condition": self.weather, "temperature_c": self.temperature_c,
                            "precipitation_mm_h": PRECIPITATION[self.weather]}}

    def words(self) -> str:
        where = f"{self.store.display_name} ({self.store.store}{', ' + self.device if self.device else ''})"
        return (f"{where}, {self.local:%A %d %B %Y %H:%M} {self.local.tzname()} ({self.timezone}), "
                f"{WEATHER_WORDS[self.weather].lower()} at {self.temperature_c:g} °C")


def store_zone(store: Store) -> ZoneInfo:
    try:
        return ZoneInfo(store.timezone or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def read_ask(data: dict[str, str], stores: list[Store], *, may_draft: bool) -> Ask:
    """BadPreview naming the field when something cannot be previewed (whose store it is, the caller checks)."""
    where = (data.get("where") or "").strip()
    store_id, _, device = where.partition("/")
    store = next((s for s in stores if s.store == store_id), None)
    if store is None:
        raise BadPreview(f"Where: there is no store {store_id!r}." if store_id else "Where: choose a store.")
    if device and device not in store.devices:
        raise BadPreview(f"Where: store {store.store} has no device {device!r}.")
    tz = store_zone(store)
    try:
        day = date.fromisoformat((data.get("date") or "").strip())
        at = time.fromisoformat((data.get("time") or "").strip())
    except ValueError:
        raise BadPreview("Date and time: write them like 2026-11-23 and 08:30.") from None
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise BadPreview(f"Date: a year from {YEARS[0]} to {YEARS[1]}.")
    weather = data.get("weather", "")
    if weather not in WEATHER_CODES:
        raise BadPreview(f"Weather: one of {', '.join(WEATHER_WORDS[w].lower() for w in WEATHER_CODES)}.")
    try:
        temperature = float((data.get("temperature") or "").strip().replace(",", "."))
    except ValueError:
        raise BadPreview("Temperature: a number of degrees Celsius, like 9 or -2.5.") from None
    if not TEMPERATURES[0] <= temperature <= TEMPERATURES[1]:  # also refuses nan and inf
        raise BadPreview(f"Temperature: from {TEMPERATURES[0]:g} to {TEMPERATURES[1]:g} °C.")
    content = data.get("content", "live")
    if content not in ("live", "drafts") or (content == "drafts" and not may_draft):
        raise BadPreview("Content: live, or with the offer drafts (marketers and admins).")
    lang = data.get("lang", "en")
    if lang not in LANGUAGES:
        raise BadPreview(f"Language: one of {', '.join(LANGUAGES)}.")
    return Ask(store, device, datetime.combine(day, at, tz), weather, temperature, content == "drafts", lang)


@dataclass(frozen=True)
class Stretch:
    """One span of the day bar: where it starts and how wide it is (percent of the day), and what and why."""

    left: float
    width: float
    start: str
    end: str
    playlists: str
    why: str
    now: bool


def timeline(schedules: list[dict], ask: Ask) -> tuple[list[Stretch], float]:
    """The main zone's day around the asked moment, and where the moment falls (percent of the day); ScheduleError
    when the device's schedules do not load."""
    schedule = Schedule.from_docs(schedules, ask.timezone)
    spans = day_spans(schedule, ask.local.date())
    first, last = spans[0].start, spans[-1].end
    length = (last - first).total_seconds()
    moment = ask.local.timestamp()
    tz = ask.local.tzinfo
    out = []
    for span in spans:
        left = (span.start - first).total_seconds() / length * 100
        end = span.end.astimezone(tz)
        out.append(Stretch(round(left, 3), round((span.end - span.start).total_seconds() / length * 100, 3),
                           f"{span.start.astimezone(tz):%H:%M}", "24:00" if span.end == last else f"{end:%H:%M}",
                           ", ".join(e.playlist for e in span.entries) or "none", explain(span.entries),
                           span.start.timestamp() <= moment < span.end.timestamp()))
    return out, round((moment - first.timestamp()) / length * 100, 3)


def active_now(schedules: list[dict], ask: Ask) -> tuple[tuple[str, ...], str]:
    """The main zone's playlists at the moment and why, by the player's own ``evaluate``."""
    active, _ = evaluate(Schedule.from_docs(schedules, ask.timezone), ask.local)
    entries = active.zones.get("main", ())
    return tuple(e.playlist for e in entries), explain(entries)


def png_data(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()

