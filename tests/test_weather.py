"""Weather: the Open-Meteo client against a local server replaying Open-Meteo responses, the central
publisher and the agent against a real Mosquitto, and staleness in the decision context."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from support import CHAIN, wait_for

from decisions.context import Context, weather_from_observation
from sync import config as config_mod
from sync.cache.db import Cache
from sync.cache.weather import latest_weather, save_weather
from sync.protocol import topics
from sync.weather import Observation, WeatherError
from sync.weather.open_meteo import OpenMeteo, condition_for, parse
from sync.weather.publisher import WeatherPublisher

DATA = Path(__file__).parent / "data" / "open_meteo"


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# --- a local stand-in for api.open-meteo.com -------------------------------------------------------------
@dataclasses.dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0


class FakeOpenMeteo:
    """Answers /v1/forecast by latitude: each latitude has a script of replies; the last one repeats."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                fake.requests.append((url.path, query))
                script = fake.scripts.get(query.get("latitude", [""])[0]) or [Reply(404, b'{"error":true}')]
                reply = script.pop(0) if len(script) > 1 else script[0]
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def serve(self, lat: float, *replies: Reply) -> None:
        self.scripts[str(lat)] = list(replies)

    def attempts(self, lat: float) -> int:
        return sum(1 for _, q in self.requests if q.get("latitude") == [str(lat)])


@pytest.fixture
def open_meteo():
    fake = FakeOpenMeteo()
    fake._thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def client(fake: FakeOpenMeteo, **kw) -> OpenMeteo:
    kw = {"timeout_s": 2, "retries": 3, "backoff_s": 0.01, **kw}
    c = OpenMeteo(base_url=fake.url, **kw)
    c.delays = []
    c.sleep = c.delays.append  # record the backoff instead of sleeping
    return c


def ok(name: str) -> Reply:
    return Reply(200, recorded(name))


# --- the Open-Meteo client -----------------------------------------------------------------------------------
def test_normal_response_and_the_request_it_came_from(open_meteo):
    open_meteo.serve(42.6977, ok("sofia_cloudy.json"))
    obs = client(open_meteo).current(42.6977, 23.3219)
    assert obs == Observation(6.2, 0.0, "cloudy", utc("2026-11-20T07:15"), "open-meteo")
    path, query = open_meteo.requests[0]
    assert path == "/v1/forecast"
    assert query == {"latitude": ["42.6977"], "longitude": ["23.3219"],
                     "current": ["temperature_2m,precipitation,weather_code"], "timezone": ["UTC"]}


def test_fahrenheit_and_inches_are_converted(open_meteo):
    open_meteo.serve(40.7128, ok("fahrenheit_inch.json"))
    obs = client(open_meteo).current(40.7128, -74.006)
    assert obs.temperature_c == pytest.approx(5.0)  # 41 °F
    assert obs.precipitation_mm_h == pytest.approx(0.02 * 25.4 * 4)  # 0.020 inch in 15 min
    assert obs.condition == "rain"
    assert obs.observed_at == utc("2026-11-20T12:30")


@pytest.mark.parametrize("name, lat, condition, temperature, mm_h", [
    ("rain.json", 43.2, "rain", 9.4, 4.8),
    ("snow.json", 41.8, "snow", -2.5, 1.2),
    ("thunderstorm.json", 42.15, "storm", 18.7, 8.4),
])
def test_conditions_and_precipitation_per_hour(open_meteo, name, lat, condition, temperature, mm_h):
    open_meteo.serve(lat, ok(name))
    obs = client(open_meteo).current(lat, 25.0)
    assert (obs.condition, obs.temperature_c) == (condition, temperature)
    assert obs.precipitation_mm_h == pytest.approx(mm_h)  # the 15-minute sum scaled to an hour


def test_time_in_another_timezone_is_brought_to_utc():
    doc = json.loads(recorded("sofia_cloudy.json"))
    doc["utc_offset_seconds"] = 7200  # as if asked with timezone=Europe/Sofia
    assert parse(doc).observed_at == utc("2026-11-20T05:15")


@pytest.mark.parametrize("codes, condition", [
    ((0, 1), "clear"), ((2, 3, 45, 48), "cloudy"),
    ((51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 80, 81, 82), "rain"),
    ((71, 73, 75, 77, 85, 86), "snow"), ((95, 96, 99), "storm"),
])
def test_wmo_codes(codes, condition):
    assert {condition_for(c) for c in codes} == {condition}


def test_unknown_wmo_code_is_an_error():
    with pytest.raises(WeatherError, match="unknown WMO code 42"):
        condition_for(42)


def test_500_then_success_is_retried_with_backoff(open_meteo):
    open_meteo.serve(42.1, Reply(500, b"Internal Server Error"), Reply(503), ok("rain.json"))
    c = client(open_meteo, backoff_s=0.5)
    assert c.current(42.1, 23.0).condition == "rain"
    assert open_meteo.attempts(42.1) == 3
    assert c.delays == [0.5, 1.0]


def test_always_500_gives_up_with_one_clear_log_line(open_meteo, caplog):
    caplog.set_level(logging.DEBUG, logger="store_edge.weather")
    open_meteo.serve(42.2, Reply(500))
    c = client(open_meteo)
    with pytest.raises(WeatherError, match="gave up after 3 attempts: HTTP 500"):
        c.current(42.2, 23.0)
    assert open_meteo.attempts(42.2) == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["weather fetch failed: lat=42.2 lon=23.0 (open-meteo): gave up after 3 attempts: HTTP 500"]


def test_timeout_is_retried_then_an_error(open_meteo):
    open_meteo.serve(42.3, Reply(200, recorded("sofia_cloudy.json"), delay_s=1.5))
    c = client(open_meteo, timeout_s=0.3, retries=2)
    started = time.monotonic()
    with pytest.raises(WeatherError, match=r"gave up after 2 attempts: timed out after 0.3s"):
        c.current(42.3, 23.0)
    assert open_meteo.attempts(42.3) == 2
    assert time.monotonic() - started < 1.5  # it did not wait for the slow server


def test_connection_refused_is_retried_then_an_error():
    c = OpenMeteo(base_url="http://127.0.0.1:9", retries=2, backoff_s=0.01, timeout_s=1)
    with pytest.raises(WeatherError, match="gave up after 2 attempts: connection failed"):
        c.current(1.0, 2.0)


def test_malformed_json_is_an_error_and_not_retried(open_meteo):
    open_meteo.serve(42.4, ok("malformed.json"))
    with pytest.raises(WeatherError, match="malformed JSON"):
        client(open_meteo).current(42.4, 23.0)
    assert open_meteo.attempts(42.4) == 1


def test_missing_field_is_named(open_meteo):
    open_meteo.serve(42.5, ok("missing_weather_code.json"))
    with pytest.raises(WeatherError, match=r"current\.weather_code: missing"):
        client(open_meteo).current(42.5, 23.0)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("current"), "current: missing"),
    (lambda d: d["current"].update(temperature_2m=None), r"current\.temperature_2m: null"),
    (lambda d: d["current"].update(precipitation="0.0"), r"current\.precipitation: expected a number"),
    (lambda d: d["current_units"].update(temperature_2m="K"), "unsupported unit 'K'"),
    (lambda d: d["current_units"].pop("precipitation"), r"current_units\.precipitation: missing"),
    (lambda d: d["current"].update(interval=0), r"current\.interval: 0.0 is not a positive"),
    (lambda d: d["current"].update(time="yesterday"), r"current\.time: 'yesterday' is not an ISO 8601 time"),
    (lambda d: d["current"].pop("time"), r"current\.time: missing"),
])
def test_bad_fields_are_named(change, message):
    doc = json.loads(recorded("sofia_cloudy.json"))
    change(doc)
    with pytest.raises(WeatherError, match=message):
        parse(doc)


def test_404_is_not_retried(open_meteo):
    open_meteo.serve(42.6, Reply(404, b"Not Found"))
    with pytest.raises(WeatherError, match="HTTP 404 \\(not retried\\)"):
        client(open_meteo).current(42.6, 23.0)
    assert open_meteo.attempts(42.6) == 1


def test_400_carries_the_api_reason(open_meteo):
    open_meteo.serve(142.0, Reply(400, recorded("bad_request.json")))
    with pytest.raises(WeatherError, match="HTTP 400: Latitude must be in range"):
        client(open_meteo).current(142.0, 23.0)
    assert open_meteo.attempts(142.0) == 1


# --- the wire format -----------------------------------------------------------------------------------------
def test_observation_round_trip():
    obs = Observation(-3.5, 0.8, "snow", 1795354200.0, "open-meteo")
    assert Observation.from_json(obs.to_json()) == obs
    assert json.loads(obs.to_json()) == {"temperature_c": -3.5, "precipitation_mm_h": 0.8, "condition": "snow",
                                         "observed_at": 1795354200.0, "source": "open-meteo"}


GOOD = {"temperature_c": 6, "precipitation_mm_h": 0, "condition": "rain", "observed_at": 1795354200,
        "source": "open-meteo"}


@pytest.mark.parametrize("payload, field", [
    (b"", "not JSON"),
    (b"[1, 2]", "expected a JSON object"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "condition"}).encode(), "condition"),
    (json.dumps({**GOOD, "condition": "drizzle"}).encode(), "condition"),
    (json.dumps({**GOOD, "temperature_c": "6"}).encode(), "temperature_c"),
    (json.dumps({**GOOD, "temperature_c": True}).encode(), "temperature_c"),
    (json.dumps({**GOOD, "temperature_c": 600}).encode(), "temperature_c"),
    (json.dumps({**GOOD, "precipitation_mm_h": -1}).encode(), "precipitation_mm_h"),
    (b'{"temperature_c": NaN, "precipitation_mm_h": 0, "condition": "rain", "observed_at": 1, "source": "x"}',
     "temperature_c"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "observed_at"}).encode(), "observed_at"),
    (json.dumps({**GOOD, "source": ""}).encode(), "source"),
])
def test_from_json_is_strict_and_names_the_field(payload, field):
    with pytest.raises(ValueError, match=field):
        Observation.from_json(payload)


def test_from_json_ignores_keys_it_does_not_know():
    assert Observation.from_json(json.dumps({**GOOD, "wind_kmh": 12}).encode()).condition == "rain"


# --- the cache -----------------------------------------------------------------------------------------------
def test_cache_keeps_the_newest_observation(tmp_path):
    cache = Cache(tmp_path / "cache.db")
    assert latest_weather(cache, "s001") is None
    newer = Observation(5.0, 0.0, "clear", 2000.0, "open-meteo")
    older = Observation(9.0, 3.0, "rain", 1000.0, "open-meteo")
    assert save_weather(cache, "s001", newer, received_at=2100.0)
    assert not save_weather(cache, "s001", older, received_at=2200.0)  # e.g. a retained message sent again
    assert latest_weather(cache, "s001") == newer
    assert latest_weather(cache, "s002") is None
    cache.close()


# --- publishing through the broker to the agent ----------------------------------------------------------
STORES = [{"store": "s001", "lat": 43.2, "lon": 27.9},  # rain
          {"store": "s002", "lat": 42.9, "lon": 25.3},  # head office's fetch keeps failing
          {"store": "s003", "lat": 41.8, "lon": 23.5}]  # snow


def retained_publish(responder):
    def publish(topic: str, payload: bytes) -> None:
        responder.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)

    return publish


def stored(agent, store: str) -> Observation | None:
    cache = Cache(agent.cache_path)  # one Cache per thread: the test's own
    try:
        return latest_weather(cache, store)
    finally:
        cache.close()


def test_publisher_feeds_agents_and_one_failing_store_stops_no_other(open_meteo, responder, start_agent,
                                                                     device_config, clock, caplog):
    caplog.set_level(logging.INFO, logger="store_edge")
    open_meteo.serve(43.2, ok("rain.json"))
    open_meteo.serve(42.9, Reply(500))
    open_meteo.serve(41.8, ok("snow.json"))
    publisher = WeatherPublisher(client(open_meteo), STORES, retained_publish(responder), chain=CHAIN, clock=clock)
    result = publisher.run_once()
    assert set(result.published) == {"s001", "s003"}
    assert result.failed == {"s002": "gave up after 3 attempts: HTTP 500"}
    assert any(r.levelno == logging.ERROR and "store s002" in r.getMessage() and "HTTP 500" in r.getMessage()
               for r in caplog.records)

    # Agents that connect afterwards get their own store's weather from the retained message.
    kiosk = start_agent()
    far = start_agent(device_config(device="kiosk-9", store="s003"))
    wait_for(lambda: stored(kiosk, "s001"), what="s001 weather stored")
    wait_for(lambda: stored(far, "s003"), what="s003 weather stored")
    assert stored(kiosk, "s001") == Observation(9.4, 4.8, "rain", utc("2026-11-20T07:15"), "open-meteo")
    assert stored(far, "s003").condition == "snow"
    assert stored(kiosk, "s003") is None and stored(far, "s001") is None  # each device follows its own store


def test_garbage_on_the_weather_topic_leaves_the_cache_unchanged(responder, start_agent, clock, caplog):
    caplog.set_level(logging.INFO, logger="store_edge")
    agent = start_agent()
    good = Observation(12.0, 0.0, "clear", clock.time() - 60, "open-meteo")
    responder.publish_weather("s001", good)
    wait_for(lambda: stored(agent, "s001"), what="weather stored")
    cache = Cache(agent.cache_path)
    try:
        assert cache.query("SELECT received_at FROM weather") == [(clock.time(),)]  # stamped by the agent's clock
    finally:
        cache.close()
    topic = topics.weather_topic(CHAIN, "s001")
    garbage = [b"", b"not json", b"[]", json.dumps({**good.as_dict(), "condition": "hail"}).encode(),
               json.dumps({**good.as_dict(), "observed_at": good.observed_at + 60, "temperature_c": "hot"}).encode()]
    for payload in garbage:
        responder.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def ignored_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if "malformed weather message ignored" in r.getMessage()]

    # Counting the agent's messages would race its own presence echo (and the retained overrides it follows);
    # each garbage message is logged once, so wait for the log lines.
    wait_for(lambda: len(ignored_lines()) >= len(garbage), what="garbage delivered")
    assert stored(agent, "s001") == good
    ignored = ignored_lines()
    assert len(ignored) == len(garbage)
    assert any("condition: 'hail'" in m for m in ignored) and any("temperature_c" in m for m in ignored)
    assert agent.connected.is_set() and agent._thread.is_alive()


def test_publisher_thread_runs_until_stopped(open_meteo, responder, start_agent, clock):
    open_meteo.serve(43.2, ok("rain.json"))
    agent = start_agent()
    publisher = WeatherPublisher(client(open_meteo), STORES[:1], retained_publish(responder), interval_s=0.1,
                                 chain=CHAIN, clock=clock).start()
    try:
        wait_for(lambda: open_meteo.attempts(43.2) >= 3, what="three rounds")
        wait_for(lambda: stored(agent, "s001"), what="weather stored")
    finally:
        publisher.stop()
    assert not publisher._thread.is_alive()


def test_direct_mode_fetches_on_its_own_thread(open_meteo, start_agent, device_config):
    open_meteo.serve(42.6977, ok("sofia_cloudy.json"))
    base = device_config()
    config = dataclasses.replace(base, weather=config_mod.WeatherSection(
        direct=True, base_url=open_meteo.url, lat=42.6977, lon=23.3219, interval_s=3600))
    agent = start_agent(config)
    obs = wait_for(lambda: stored(agent, "s001"), what="directly fetched weather stored")
    assert obs.condition == "cloudy" and obs.temperature_c == 6.2
    assert agent._weather_thread.name == "weather-fetch" and agent._weather_thread is not agent._thread
    agent.stop()
    assert not agent._weather_thread.is_alive()


def test_weather_config(tmp_path):
    path = tmp_path / "device.toml"
    path.write_text('[weather]\ndirect = true\nlat = 42.7\nlon = 23\ninterval_s = 600\n')
    w = config_mod.load(path, env={"STORE_EDGE_WEATHER_BASE_URL": "http://weather.local"}).weather
    assert (w.direct, w.provider, w.base_url, w.lat, w.lon, w.interval_s) == (
        True, "open-meteo", "http://weather.local", 42.7, 23.0, 600.0)
    assert config_mod.load(env={}).weather.direct is False
    example = config_mod.load(Path(__file__).parents[1] / "config" / "device.example.toml", env={}).weather
    assert example.direct is False and example.interval_s == 900.0
    with pytest.raises(config_mod.ConfigError, match="unknown provider 'met-office'"):
        config_mod.load(env={"STORE_EDGE_WEATHER_PROVIDER": "met-office"})
    path.write_text('[weather]\ndirect = true\n')
    with pytest.raises(config_mod.ConfigError, match="needs the store's lat and lon"):
        config_mod.load(path, env={})


# --- staleness in the decision context --------------------------------------------------------------------
def test_weather_older_than_three_hours_counts_as_unknown():
    now = datetime(2026, 11, 20, 11, 15, tzinfo=UTC)
    old = Observation(6.2, 0.0, "cloudy", (now - timedelta(hours=4)).timestamp(), "open-meteo")
    fresh = Observation(6.2, 0.0, "cloudy", (now - timedelta(hours=1)).timestamp(), "open-meteo")

    def context(obs: Observation) -> Context:
        return Context(now=now, store="s001", region="south", device="kiosk-1", channel="kiosk",
                       weather=weather_from_observation(obs.as_dict()))

    assert context(old).current_weather is None
    w = context(fresh).current_weather
    assert w is not None and (w.condition, w.band, w.observed_at) == ("cloudy", "cold", now - timedelta(hours=1))


def test_weather_from_observation_names_a_bad_field():
    with pytest.raises(ValueError, match="weather condition"):
        weather_from_observation({**GOOD, "condition": "fog"})
    with pytest.raises(ValueError, match="weather observed_at"):
        weather_from_observation({**GOOD, "observed_at": "now"})


def test_head_office_command_line_publishes_each_stores_weather(open_meteo, broker, chain_key, tmp_path):
    import subprocess
    import sys

    from sync.protocol import signing

    open_meteo.serve(42.6977, ok("sofia_cloudy.json"))
    stores = tmp_path / "stores.json"
    stores.write_text(json.dumps([{"store": "s001", "lat": 42.6977, "lon": 23.3219}]))
    key = tmp_path / "chain.key"
    key.write_bytes(signing.private_key_pem(chain_key))
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "central.responder", "--chain", "demo", "--port", str(broker.port),
                             "--key", str(key), "--stores", str(stores), "--weather-url", open_meteo.url],
                            cwd=root, stderr=subprocess.DEVNULL)
    try:
        def retained() -> str:
            return subprocess.run(["mosquitto_sub", "-p", str(broker.port), "-t", "se/v1/demo/weather/s001",
                                   "-C", "1", "-W", "2"], capture_output=True, text=True).stdout

        payload = wait_for(retained, timeout=15, what="retained weather for s001")
        assert Observation.from_json(payload.strip().encode()).condition == "cloudy"
    finally:
        proc.terminate()
        proc.wait(10)
