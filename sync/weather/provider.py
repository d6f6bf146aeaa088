"""The provider interface and the observation that travels on the weather topic.

Wire format (UTF-8 JSON object, published retained at QoS 1)::

    {"temperature_c": 6.2, "precipitation_mm_h": 1.6, "condition": "rain",
     "observed_at": 1795354200.0, "source": "open-meteo"}

``observed_at`` is unix seconds (UTC). Keys beyond these are ignored, so that a later head office may
add some without breaking older devices; the five above are required and checked strictly.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Protocol

CONDITIONS = ("clear", "cloudy", "rain", "snow", "storm")


class WeatherError(RuntimeError):
    """The weather could not be had; the message says why."""


@dataclass(frozen=True)
class Observation:
    temperature_c: float
    precipitation_mm_h: float
    condition: str  # one of CONDITIONS
    observed_at: float  # unix seconds
    source: str

    def __post_init__(self) -> None:
        _check(self.as_dict())

    def as_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> bytes:
        return json.dumps(self.as_dict(), separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Observation:
        """Parse a wire payload. Raises ValueError naming the field that is wrong."""
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise ValueError(f"expected a JSON object, got {type(doc).__name__}")
        _check(doc)
        return cls(float(doc["temperature_c"]), float(doc["precipitation_mm_h"]), doc["condition"],
                   float(doc["observed_at"]), doc["source"])


class WeatherProvider(Protocol):
    def current(self, lat: float, lon: float) -> Observation:
        """The current weather at a point. Raises WeatherError."""
        ...


def _number(doc: dict, name: str) -> float:
    if name not in doc:
        raise ValueError(f"{name}: missing")
    value = doc[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name}: not a finite number")
    return float(value)


def _check(doc: dict) -> None:
    temperature = _number(doc, "temperature_c")
    if not -90 <= temperature <= 70:
        raise ValueError(f"temperature_c: {temperature} °C is not a plausible air temperature")
    if _number(doc, "precipitation_mm_h") < 0:
        raise ValueError("precipitation_mm_h: negative")
    if _number(doc, "observed_at") <= 0:
        raise ValueError("observed_at: must be unix seconds")
    condition = doc.get("condition")
    if condition not in CONDITIONS:
        raise ValueError(f"condition: {condition!r} is not one of {', '.join(CONDITIONS)}")
    source = doc.get("source")
    if not isinstance(source, str) or not source:
        raise ValueError("source: expected a non-empty string")
