"""Run the sync agent for one device: ``python -m sync.agent --config config/device.toml``."""

from __future__ import annotations

import argparse
import sys

from .. import config as config_mod
from ..runtime import setup_logging, wait_for_stop_signal
from .agent import SyncAgent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge-agent")
    parser.add_argument("--config", help="device TOML (default: $STORE_EDGE_CONFIG or built-in defaults)")
    parser.add_argument("--base-dir", default=".", help="relative paths in the config start here")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        print(f"store-edge-agent: configuration error: {exc}", file=sys.stderr)
        return 2
    agent = SyncAgent(cfg, base_dir=args.base_dir).start()
    wait_for_stop_signal()
    agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
