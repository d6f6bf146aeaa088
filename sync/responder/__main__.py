"""Run the reference head office on its own: ``python -m sync.responder --key chain.key``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from ..protocol.signing import load_private_key
from .eventstore import EventStore
from .service import Responder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge-responder")
    parser.add_argument("--chain", default="demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--key", required=True, help="the chain's private signing key (PEM)")
    parser.add_argument("--events", default=":memory:", help="SQLite file for received events")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    responder = Responder(chain=args.chain, host=args.host, port=args.port, key=load_private_key(args.key),
                          events=EventStore(args.events)).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    responder.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
