"""Weather for weather-aware menus: a provider interface, the Open-Meteo client, the central publisher.

Head office fetches each store's current weather and publishes it retained on
``se/v1/{chain}/weather/{store}``; the agent stores the latest observation per store in the cache
(``sync.cache.weather``). A device may also fetch for itself (``[weather] direct = true``).
"""

from .provider import CONDITIONS, Observation, WeatherError, WeatherProvider

__all__ = ["CONDITIONS", "Observation", "WeatherError", "WeatherProvider"]
