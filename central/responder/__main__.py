"""Run the reference head office on its own: ``python -m central.responder --key chain.key``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sync.clock import SYSTEM, Clock
from sync.protocol.signing import load_private_key
from sync.runtime import setup_logging, wait_for_stop_signal
from sync.weather.open_meteo import OpenMeteo
from sync.weather.publisher import WeatherPublisher

from .eventstore import EventStore
from .service import Responder


def main(argv: list[str] | None = None, *, clock: Clock = SYSTEM) -> int:
    """The one place that picks the clock: the system's, or a test's; the responder and the weather read it."""
    parser = argparse.ArgumentParser(prog="store-edge-responder")
    parser.add_argument("--chain", default="demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--key", required=True, help="the chain's private signing key (PEM)")
    parser.add_argument("--events", default=":memory:", help="SQLite file for received events")
    parser.add_argument("--client-id", help="stable per worker (default central-<chain>-1)")
    parser.add_argument("--stores", help="JSON list of {store, lat, lon}: fetch and publish each store's weather")
    parser.add_argument("--weather-url", default="https://api.open-meteo.com", help="Open-Meteo (or a mirror)")
    parser.add_argument("--weather-every", type=float, default=900.0, help="seconds between weather rounds")
    args = parser.parse_args(argv)
    setup_logging()
    responder = Responder(chain=args.chain, host=args.host, port=args.port, key=load_private_key(args.key),
                          clock=clock, events=EventStore(args.events), client_id=args.client_id).start()
    weather = None
    if args.stores:
        weather = WeatherPublisher(OpenMeteo(args.weather_url), json.loads(Path(args.stores).read_text()),
                                   responder.publish_retained, args.weather_every, chain=args.chain, clock=clock)
        weather.start()
    wait_for_stop_signal()
    if weather:
        weather.stop()
    responder.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
