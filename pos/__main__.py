"""Run a store device's sync agent with the till's endpoint: ``python -m pos --config device.toml``."""

from __future__ import annotations

import argparse
import logging
import sys

from sync import config as config_mod
from sync.agent import SyncAgent
from sync.clock import SYSTEM
from sync.runtime import setup_logging, wait_for_stop_signal

from .service import PosService

log = logging.getLogger("store_edge.pos")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge-pos")
    parser.add_argument("--config", help="device TOML (default: $STORE_EDGE_CONFIG)")
    parser.add_argument("--base-dir", default=".", help="relative paths in the config start here")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        cfg = config_mod.load(args.config)
        if not cfg.pos.enabled:
            raise config_mod.ConfigError("[pos] enabled: this device is not the store's till device")
        key = config_mod.read_key_file("[pos] coupon_key_file", cfg.pos.coupon_key_file,
                                       needed_for="the till needs the store's coupon key to check coupons")
        tills = config_mod.read_till_keys("[pos] till_keys_file", cfg.pos.till_keys_file)
    except config_mod.ConfigError as exc:
        print(f"store-edge-pos: configuration error: {exc}", file=sys.stderr)
        return 2
    agent = SyncAgent(cfg, base_dir=args.base_dir, clock=SYSTEM)
    pos = PosService(agent, key, tills, host=cfg.pos.bind, port=cfg.pos.port, options=cfg.pos)
    agent.start()
    pos.start()
    log.info("till endpoint on %s for %d till(s), MQTT topic %s", pos.http.url, len(tills), agent.topics.pos_redeem)
    wait_for_stop_signal()
    pos.stop()
    agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
