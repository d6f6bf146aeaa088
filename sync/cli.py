"""``store-edge``: the operator's command for a device and a chain.

- ``store-edge config check [--config PATH]``: validate the device's configuration and print it with
  secrets hidden; exit status 2 and one line per problem, each naming its key, when it is wrong.
- ``store-edge acl --devices devices.csv --chain demo``: the chain broker's Mosquitto ACL (``sync.acl``).
- ``store-edge bridge --devices devices.csv --chain demo --store s001 --core host:8883``: a store broker's
  bridge to the core broker (``sync.bridge``).
- ``store-edge install-device ...``: lay out one device's files (``sync.install``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import config as config_mod


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    config = commands.add_parser("config", help="the device's configuration")
    config_commands = config.add_subparsers(dest="action", required=True)
    check = config_commands.add_parser("check", help="validate and print the effective configuration")
    check.add_argument("--config", help="device TOML (default: $STORE_EDGE_CONFIG, else /etc/store-edge/device.toml)")
    check.add_argument("--base-dir", default=".", help="relative paths in the config start here")
    check.set_defaults(run=_config_check)

    from . import acl, bridge, install
    acl.add_command(commands)
    bridge.add_command(commands)
    install.add_command(commands)
    args = parser.parse_args(argv)
    return args.run(args)


def _config_check(args: argparse.Namespace) -> int:
    from .config_check import problems

    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        print(f"store-edge: config error: {exc}", file=sys.stderr)
        return 2
    found = problems(cfg, Path(args.base_dir))
    print(json.dumps(config_mod.redacted(cfg), indent=2, ensure_ascii=False))
    for problem in found:
        print(f"store-edge: config error: {problem}", file=sys.stderr)
    if found:
        return 2
    print("store-edge: config ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
