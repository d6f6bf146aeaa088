"""What the engine decides from: the moment, the place, the weather, the basket.

The clock is always an argument (``Context.now``); nothing here reads the time itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .reasons import Reason, Term

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHANNELS = ("kiosk", "tablet", "signage")
WEATHER_CODES = ("clear", "cloudy", "rain", "snow", "storm")
TEMPERATURE_BANDS = ("cold", "mild", "hot")
SKY_WORDS = {"clear": "clear", "cloudy": "cloudy", "rain": "rainy", "snow": "snowing", "storm": "stormy"}
DEFAULT_DAYPARTS = {
    "morning": ("06:00", "11:00"),
    "lunch": ("11:00", "15:00"),
    "afternoon": ("15:00", "18:00"),
    "evening": ("18:00", "22:00"),
}
WEATHER_MAX_AGE = timedelta(hours=3)


def temperature_band(celsius: float) -> str:
    """cold below 10 °C, mild from 10 to below 25 °C, hot from 25 °C."""
    if celsius < 10:
        return "cold"
    return "mild" if celsius < 25 else "hot"


@dataclass(frozen=True)
class Weather:
    temperature_c: float
    precipitation_mm_h: float
    condition: str  # one of WEATHER_CODES
    observed_at: datetime

    @property
    def band(self) -> str:
        return temperature_band(self.temperature_c)

    @property
    def wet(self) -> bool:
        return self.condition in ("rain", "snow", "storm") or self.precipitation_mm_h >= 0.2

    def describe(self) -> Reason:
        return Reason("{sky} and {temperature:.0f} °C", sky=Term(SKY_WORDS.get(self.condition, self.condition)),
                      temperature=self.temperature_c)


def weather_from_observation(obs: Mapping[str, object]) -> Weather:
    """A weather observation as the sync layer stores it (``temperature_c``, ``precipitation_mm_h``,
    ``condition``, ``observed_at`` in unix seconds) -> Weather. Raises ValueError naming a bad field."""
    for key in ("temperature_c", "precipitation_mm_h", "observed_at"):
        value = obs.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"weather {key}: expected a number, got {value!r}")
    if obs.get("condition") not in WEATHER_CODES:
        raise ValueError(f"weather condition: {obs.get('condition')!r} is not one of {', '.join(WEATHER_CODES)}")
    return Weather(float(obs["temperature_c"]), float(obs["precipitation_mm_h"]), obs["condition"],
                   datetime.fromtimestamp(obs["observed_at"], UTC))


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_window(local: datetime, start: str, end: str) -> bool:
    """Is the local wall-clock time inside [start, end)? Windows may wrap midnight (22:00-02:00)."""
    now, a, b = local.time().replace(second=0, microsecond=0), parse_hhmm(start), parse_hhmm(end)
    return a <= now < b if a < b else (now >= a or now < b)


@dataclass(frozen=True)
class Context:
    """One decision's situation. ``now`` must be timezone-aware."""

    now: datetime
    store: str
    region: str
    device: str
    channel: str
    timezone: str = "Europe/Sofia"
    weather: Weather | None = None
    dayparts: Mapping[str, tuple[str, str]] = field(default_factory=lambda: DEFAULT_DAYPARTS)
    basket: tuple[str, ...] = ()
    trending: Mapping[str, float] = field(default_factory=dict)
    weather_max_age: timedelta = WEATHER_MAX_AGE

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("Context.now must be timezone-aware")
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local(self) -> datetime:
        return self.now.astimezone(self.tz)

    @property
    def weekday(self) -> str:
        return WEEKDAYS[self.local.weekday()]

    @property
    def daypart(self) -> str | None:
        local = self.local
        for name, (start, end) in self.dayparts.items():
            if in_window(local, start, end):
                return name
        return None

    @property
    def current_weather(self) -> Weather | None:
        """The weather if it is fresh enough to trust; stale weather counts as unknown."""
        w = self.weather
        if w is None or self.now - w.observed_at > self.weather_max_age:
            return None
        return w
