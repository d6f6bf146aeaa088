"""Run the sync agent for one device: ``python -m sync.agent --config /etc/store-edge/device.toml``.

Under systemd (``Type=notify``, ``WatchdogSec=``; see systemd/store-edge-agent.service) it says
READY once its cache is open and its I/O thread runs, pings the watchdog from the main loop and
says STOPPING on SIGTERM.
"""

from __future__ import annotations

import argparse
import sys

from .. import config as config_mod
from ..clock import SYSTEM
from ..runtime import run_until_stopped, setup_logging
from ..sdnotify import Notifier
from .agent import SyncAgent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge-agent")
    parser.add_argument("--config", help="device TOML (default: $STORE_EDGE_CONFIG, else /etc/store-edge/device.toml "
                                         "if it exists, else built-in defaults)")
    parser.add_argument("--base-dir", default=".", help="relative paths in the config start here")
    args = parser.parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        print(f"store-edge-agent: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(cfg.log, device=cfg.device.id, secrets=config_mod.secret_values(cfg))
    notifier = Notifier()
    agent = SyncAgent(cfg, base_dir=args.base_dir, clock=SYSTEM).start()
    notifier.ready(f"device {cfg.device.id}: cache open, syncing")
    run_until_stopped(notifier, alive=agent.io_alive)
    agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
