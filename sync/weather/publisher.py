"""Head office's weather feed: fetch each store's weather and publish it retained, one topic per store.

``publish(topic, payload)`` must publish retained at QoS 1 (a device that connects later gets the
latest observation from the broker at once). A store whose fetch or publish fails is logged and
skipped; the others go on, and the next round tries it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..clock import Clock
from ..protocol.topics import weather_topic
from .provider import Observation, WeatherError, WeatherProvider

log = logging.getLogger("store_edge.weather")


@dataclass
class RunResult:
    published: dict[str, Observation] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # store -> reason


class WeatherPublisher:
    def __init__(self, provider: WeatherProvider, stores: list[dict], publish: Callable[[str, bytes], None],
                 interval_s: float = 900, *, chain: str, clock: Clock):
        for s in stores:
            if not isinstance(s.get("store"), str) or not all(
                    isinstance(s.get(k), int | float) and not isinstance(s.get(k), bool) for k in ("lat", "lon")):
                raise ValueError(f"a store needs 'store', 'lat' and 'lon': {s!r}")
        self.provider = provider
        self.stores = list(stores)
        self.publish = publish
        self.interval_s = interval_s
        self.chain = chain
        self.clock = clock
        self.last: RunResult | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> RunResult:
        """Fetch and publish every store once. Never raises for one store's failure."""
        now = self.clock.time()
        result = RunResult()
        for s in self.stores:
            store = s["store"]
            try:
                observation = self.provider.current(s["lat"], s["lon"])
                self.publish(weather_topic(self.chain, store), observation.to_json())
            except WeatherError as exc:
                result.failed[store] = str(exc)
                log.error("weather for store %s (lat=%s lon=%s) not published: %s", store, s["lat"], s["lon"], exc)
                continue
            except Exception as exc:
                result.failed[store] = f"{type(exc).__name__}: {exc}"
                log.exception("weather for store %s (lat=%s lon=%s) not published", store, s["lat"], s["lon"])
                continue
            result.published[store] = observation
            log.debug("weather for store %s: %s, %.1f °C (%.0f s old)", store, observation.condition,
                      observation.temperature_c, now - observation.observed_at)
        log.info("weather published for %d of %d stores", len(result.published), len(self.stores))
        self.last = result
        return result

    # --- background thread ---------------------------------------------------------------------
    def start(self) -> WeatherPublisher:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="weather-publisher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("weather round failed")
            self._stop.wait(self.interval_s)
