"""Current weather from Open-Meteo's forecast API (https://open-meteo.com/en/docs).

One GET per store::

    /v1/forecast?latitude=42.6977&longitude=23.3219&current=temperature_2m,precipitation,weather_code&timezone=UTC

answers (abridged)::

    {"utc_offset_seconds": 0, "timezone": "GMT",
     "current_units": {"time": "iso8601", "interval": "seconds", "temperature_2m": "°C",
                       "precipitation": "mm", "weather_code": "wmo code"},
     "current": {"time": "2026-11-20T07:15", "interval": 900, "temperature_2m": 6.2,
                 "precipitation": 0.4, "weather_code": 61}}

``current.time`` has no offset: it is local to the requested timezone (we ask for UTC, and also
apply ``utc_offset_seconds``). ``precipitation`` is the sum over the preceding ``interval``
seconds, so it is scaled to mm/h. Temperatures in °F and precipitation in inches (the API's
``temperature_unit``/``precipitation_unit`` options) are converted from what ``current_units`` says.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime, timedelta

import requests

from .provider import Observation, WeatherError

log = logging.getLogger("store_edge.weather")
SOURCE = "open-meteo"
VARIABLES = ("temperature_2m", "precipitation", "weather_code")


def condition_for(code: int) -> str:
    """WMO weather interpretation code (as Open-Meteo reports it) -> our condition code."""
    if code in (0, 1):
        return "clear"
    if code in (2, 3, 45, 48):
        return "cloudy"
    if 51 <= code <= 67 or 80 <= code <= 82:
        return "rain"
    if 71 <= code <= 77 or code in (85, 86):
        return "snow"
    if 95 <= code <= 99:
        return "storm"
    raise WeatherError(f"current.weather_code: unknown WMO code {code}")


class OpenMeteo:
    """A ``WeatherProvider``. ``retries`` counts attempts in all; the wait doubles from ``backoff_s``.

    Connection errors, timeouts and 5xx answers are retried; a 4xx answer or a malformed body is not.
    """

    name = SOURCE

    def __init__(self, base_url: str = "https://api.open-meteo.com", session: requests.Session | None = None,
                 timeout_s: float = 5, retries: int = 3, backoff_s: float = 0.5):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout_s = timeout_s
        self.retries = max(1, retries)
        self.backoff_s = backoff_s
        self.sleep = time.sleep  # a seam for tests

    def current(self, lat: float, lon: float) -> Observation:
        try:
            return parse(self._get(lat, lon))
        except WeatherError as exc:
            log.warning("weather fetch failed: lat=%s lon=%s (%s): %s", lat, lon, SOURCE, exc)
            raise

    def _get(self, lat: float, lon: float) -> object:
        params = {"latitude": lat, "longitude": lon, "current": ",".join(VARIABLES), "timezone": "UTC"}
        reason = ""
        for attempt in range(self.retries):
            if attempt:
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.debug("weather lat=%s lon=%s: attempt %d failed (%s); retrying in %.1fs",
                          lat, lon, attempt, reason, delay)
                self.sleep(delay)
            try:
                resp = self.session.get(f"{self.base_url}/v1/forecast", params=params, timeout=self.timeout_s)
            except requests.Timeout:
                reason = f"timed out after {self.timeout_s}s"
                continue
            except requests.ConnectionError as exc:
                reason = f"connection failed ({type(exc).__name__})"
                continue
            except requests.RequestException as exc:
                raise WeatherError(f"request failed ({exc})") from None
            if resp.status_code >= 500:
                reason = f"HTTP {resp.status_code}"
                continue
            if resp.status_code != 200:
                raise WeatherError(f"HTTP {resp.status_code}{_api_reason(resp)} (not retried)")
            try:
                return resp.json()
            except ValueError:
                raise WeatherError("malformed JSON in the response") from None
        raise WeatherError(f"gave up after {self.retries} attempts: {reason}")


def parse(doc: object) -> Observation:
    """An Open-Meteo forecast response with ``current`` -> Observation. Raises WeatherError naming the field."""
    if not isinstance(doc, dict):
        raise WeatherError("response is not a JSON object")
    current, units = _table(doc, "current"), _table(doc, "current_units")
    temperature = _number(current, "temperature_2m")
    precipitation = _number(current, "precipitation")
    code = _number(current, "weather_code")
    interval = _number(current, "interval")
    if interval <= 0:
        raise WeatherError(f"current.interval: {interval} is not a positive number of seconds")
    if code != int(code):
        raise WeatherError(f"current.weather_code: {code} is not a WMO code")

    unit = _unit(units, "temperature_2m")
    if unit == "°F":
        temperature = (temperature - 32) * 5 / 9
    elif unit != "°C":
        raise WeatherError(f"current_units.temperature_2m: unsupported unit {unit!r}")
    unit = _unit(units, "precipitation")
    if unit == "inch":
        precipitation *= 25.4
    elif unit != "mm":
        raise WeatherError(f"current_units.precipitation: unsupported unit {unit!r}")
    if units.get("interval", "seconds") != "seconds":
        raise WeatherError(f"current_units.interval: unsupported unit {units['interval']!r}")

    stamp = current.get("time")
    if not isinstance(stamp, str):
        raise WeatherError("current.time: missing" if stamp is None else "current.time: expected a string")
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        raise WeatherError(f"current.time: {stamp!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        offset = doc.get("utc_offset_seconds", 0)
        if isinstance(offset, bool) or not isinstance(offset, int | float):
            raise WeatherError("utc_offset_seconds: expected a number")
        at = at.replace(tzinfo=UTC) - timedelta(seconds=offset)
    try:
        return Observation(round(temperature, 2), round(max(precipitation, 0.0) * 3600 / interval, 3),
                           condition_for(int(code)), at.timestamp(), SOURCE)
    except ValueError as exc:
        raise WeatherError(f"implausible values in the response: {exc}") from None


def _table(doc: dict, name: str) -> dict:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise WeatherError(f"{name}: missing" if value is None else f"{name}: expected an object")
    return value


def _number(current: dict, name: str) -> float:
    if name not in current:
        raise WeatherError(f"current.{name}: missing")
    value = current[name]
    if value is None:
        raise WeatherError(f"current.{name}: null (no data)")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WeatherError(f"current.{name}: expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise WeatherError(f"current.{name}: not a finite number")
    return float(value)


def _unit(units: dict, name: str) -> str:
    unit = units.get(name)
    if not isinstance(unit, str):
        raise WeatherError(f"current_units.{name}: missing")
    return unit


def _api_reason(resp: requests.Response) -> str:
    """Open-Meteo answers a bad request with {"error": true, "reason": "..."}."""
    try:
        reason = resp.json().get("reason")
    except (ValueError, AttributeError):
        return ""
    return f": {reason}" if isinstance(reason, str) else ""
