"""The chain broker's Mosquitto ACL: each device confined to its own topics.

A device (username = its id: the CN of its client certificate with ``use_identity_as_username``, or
its ``mosquitto_passwd`` user) may

- publish only to its own events, presence and command-reply topics, and to lookup requests;
- read only its chain, region, store and device bundle and override scopes, its own commands,
  acks, lookup answers and presence, and its own store's profiles and weather; never another
  store's profiles.

The store and region are not in the client id, so Mosquitto's ``pattern`` (%c/%u) cannot express
this; the generator writes one ``user`` block per device from the chain's device list (CSV with
``device,store,region`` and optional ``kind`` and ``pos`` columns). A ``pos = yes`` device also
answers its store's tills (``docs/pos.md``); a ``kind = till`` row is a till itself.
Head office's users get the whole chain. A store behind its own broker (``sync.bridge``) gets one
``bridge-{store}`` user with exactly its store's topics instead (a region's broker: ``bridge-region-{region}``,
with its stores' topics). Mosquitto denies whatever no line allows.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .protocol.topics import PREFIX, DeviceTopics, profiles_topic, weather_topic

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class AclError(ValueError):
    pass


@dataclass(frozen=True)
class Device:
    id: str
    store: str
    region: str
    kind: str = "kiosk"
    pos: bool = False


def read_devices(path: str | Path) -> list[Device]:
    """The chain's devices from CSV; an error names the line and the column."""
    devices: list[Device] = []
    seen: set[str] = set()
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        missing = {"device", "store", "region"} - set(rows.fieldnames or ())
        if missing:
            raise AclError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(rows, start=2):
            for column in ("device", "store", "region"):
                if not NAME.fullmatch(row[column] or ""):
                    raise AclError(f"{path}:{line}: {column} {row[column]!r} is not a plain name "
                                   "(letters, digits, '-', '_', '.')")
            if row["device"] in seen:
                raise AclError(f"{path}:{line}: device {row['device']} is listed twice")
            seen.add(row["device"])
            kind = (row.get("kind") or "kiosk").strip()
            if kind not in ("kiosk", "tablet", "signage", "till"):
                raise AclError(f"{path}:{line}: kind {kind!r} is not kiosk, tablet, signage or till")
            devices.append(Device(row["device"], row["store"], row["region"], kind,
                                  (row.get("pos") or "").strip().lower() in ("yes", "true", "1")))
    return devices


def device_rules(chain: str, device: Device) -> list[str]:
    """The ``topic`` lines for one device (or till)."""
    t = DeviceTopics(chain, device.region, device.store, device.id)
    pos_root = f"{t.root}/pos/{device.store}"
    if device.kind == "till":
        return [f"topic write {pos_root}/redeem", f"topic read {pos_root}/answers/{device.id}"]
    rules = [f"topic readwrite {t.presence}"]  # its own presence: it repairs a stale retained 'offline'
    rules += [f"topic write {topic}" for topic in (t.events, t.command_replies, t.lookup_requests)]
    reads = [t.bundle(scope) for scope in t.scopes()] + [t.override(scope) for scope in t.scopes()]
    reads += [t.commands, t.acks, t.responses, t.profiles, t.weather]
    rules += [f"topic read {topic}" for topic in reads]
    if device.pos:
        rules += [f"topic read {pos_root}/redeem", f"topic write {pos_root}/answers/+"]
    return rules


def bridge_user(store: str) -> str:
    return f"bridge-{store}"


def region_bridge_user(region: str) -> str:
    return f"bridge-region-{region}"


@dataclass(frozen=True)
class StoreTopics:
    """What crosses the link for one store, as topic filters."""

    outbound: list[str]
    inbound: list[str]


def store_topics(chain: str, store: str, devices: list[Device]) -> StoreTopics:
    """The store's topics in each direction; ``devices``: the store's devices (tills are not bridged)."""
    screens = [d for d in devices if d.store == store and d.kind != "till"]
    if not screens:
        raise AclError(f"store {store} has no devices in the list")
    regions = {d.region for d in screens}
    if len(regions) > 1:
        raise AclError(f"store {store} is listed in more than one region: {', '.join(sorted(regions))}")
    root = f"{PREFIX}/{chain}"
    outbound = [f"{root}/{kind}/{store}/+" for kind in ("events", "presence", "cmdresp")]
    outbound.append(f"{root}/lookup/req/{store}/+")
    scopes = ["chain", f"region/{regions.pop()}", f"store/{store}"] + [f"device/{d.id}" for d in screens]
    inbound = [f"{root}/bundle/{scope}" for scope in scopes] + [f"{root}/override/{scope}" for scope in scopes]
    inbound += [f"{root}/{kind}/{store}/+" for kind in ("cmd", "ack", "resp")]
    inbound += [profiles_topic(chain, store), weather_topic(chain, store)]
    return StoreTopics(outbound, inbound)


def region_topics(chain: str, region: str, devices: list[Device]) -> StoreTopics:
    """What crosses the link of a region's broker: every store of the region, each topic once."""
    stores = list(dict.fromkeys(d.store for d in devices if d.region == region and d.kind != "till"))
    if not stores:
        raise AclError(f"region {region} has no devices in the list")
    parts = [store_topics(chain, store, devices) for store in stores]
    return StoreTopics(list(dict.fromkeys(t for part in parts for t in part.outbound)),
                       list(dict.fromkeys(t for part in parts for t in part.inbound)))


def core_rules(t: StoreTopics) -> list[str]:
    """The core ACL's ``topic`` lines for a bridge user: the topics its link carries and nothing else."""
    return [f"topic write {topic}" for topic in t.outbound] + [f"topic read {topic}" for topic in t.inbound]


def render(chain: str, devices: list[Device], central_users: list[str], bridged: frozenset[str] = frozenset(),
           bridged_regions: frozenset[str] = frozenset()) -> str:
    """The whole ACL file, in the device list's order: the same input gives the same bytes.

    ``bridged``: stores whose devices reach this broker through their store's broker (``sync.bridge``):
    each gets one ``bridge-{store}`` user instead of a block per device. ``bridged_regions``: the same for
    a region's broker, one ``bridge-region-{region}`` user each."""
    if not NAME.fullmatch(chain):
        raise AclError(f"chain {chain!r} is not a plain name")
    unknown = bridged - {d.store for d in devices}
    if unknown:
        raise AclError(f"bridged store(s) not in the device list: {', '.join(sorted(unknown))}")
    unknown = bridged_regions - {d.region for d in devices}
    if unknown:
        raise AclError(f"bridged region(s) not in the device list: {', '.join(sorted(unknown))}")
    out = [f"# Mosquitto ACL for chain {chain}: generated by `store-edge acl`; do not edit by hand.", ""]
    for user in central_users:
        out += ["# head office: the whole chain", f"user {user}", f"topic readwrite {PREFIX}/{chain}/#", ""]
    for store in sorted(bridged):
        out += [f"# store {store}'s broker, bridged", f"user {bridge_user(store)}"]
        out += core_rules(store_topics(chain, store, devices)) + [""]
    for region in sorted(bridged_regions):
        out += [f"# region {region}'s broker, bridged", f"user {region_bridge_user(region)}"]
        out += core_rules(region_topics(chain, region, devices)) + [""]
    for device in devices:
        if device.store in bridged or device.region in bridged_regions:
            continue
        out += [f"# {device.kind} {device.id}: store {device.store}, region {device.region}", f"user {device.id}"]
        out += device_rules(chain, device) + [""]
    return "\n".join(out)


def add_command(commands: argparse._SubParsersAction) -> None:
    acl = commands.add_parser("acl", help="the chain broker's Mosquitto ACL from the device list")
    acl.add_argument("--devices", required=True, help="CSV: device,store,region[,kind][,pos]")
    acl.add_argument("--chain", required=True)
    acl.add_argument("--central", action="append", default=[], help="head office's broker user (repeatable)")
    acl.add_argument("--store", help="only this store's devices: the ACL of the store's own broker (sync.bridge)")
    acl.add_argument("--bridged", default="", help="stores behind their own broker (comma-separated, or 'all'):"
                     " one bridge user each instead of their devices")
    acl.add_argument("--region", help="only this region's devices: the ACL of a region's own broker")
    acl.add_argument("--bridged-regions", default="", help="regions behind their own broker (comma-separated,"
                     " or 'all'): one bridge user each instead of their devices")
    acl.add_argument("--out", help="write here (default: stdout)")
    acl.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        devices = read_devices(args.devices)
        if args.store:
            devices = [d for d in devices if d.store == args.store]
            if not devices:
                raise AclError(f"store {args.store} has no devices in {args.devices}")
        if args.region:
            devices = [d for d in devices if d.region == args.region]
            if not devices:
                raise AclError(f"region {args.region} has no devices in {args.devices}")
        stores, regions = {d.store for d in devices}, {d.region for d in devices}
        bridged = stores if args.bridged == "all" else {s for s in args.bridged.split(",") if s}
        bridged_regions = regions if args.bridged_regions == "all" else {
            r for r in args.bridged_regions.split(",") if r}
        text = render(args.chain, devices, args.central or ["central"], frozenset(bridged),
                      frozenset(bridged_regions))
    except (AclError, OSError) as exc:
        print(f"store-edge acl: {exc}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
