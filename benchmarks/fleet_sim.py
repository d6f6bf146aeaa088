"""Fleet simulator (issue 17): stores × devices against a real Mosquitto and head office on PostgreSQL.

    .venv/bin/python benchmarks/fleet_sim.py                                  # the largest fleet this machine holds
    .venv/bin/python benchmarks/fleet_sim.py --stores 200 --ingest-s 20       # a quick run

Each simulated device is cheap (thousands per process on one epoll loop, no Kivy, no thread) but speaks
the product's protocol: a persistent MQTT 5 session with a delayed retained 'offline' will, the
subscriptions of a real agent (``DeviceTopics.subscriptions``), a retained 'online' presence on every
connect, every bundle manifest parsed and its Ed25519 signature verified (the cache apply is left out),
outbox batches at QoS 1 held until head office's ack, lookups with a response topic and correlation
data, and the agent's reconnect backoff (``sync.agent.connection.Backoff``). A few real agents
(``SyncAgent`` with a real cache) are in the mix. Head office is the real worker, in processes,
on PostgreSQL.

Phases: a connect storm (everyone at once), the broker killed with SIGKILL and restarted (everyone
reconnects), a chain bundle fanned out, and a busy Saturday's events with 1, 2 and 4 workers.
Prints each figure beside its target, and for each ingest the cores every part used (simulator, brokers, workers,
PostgreSQL); ``--chart`` saves the ingest backlog over time as a PNG. The simulator's processes run at nice 10,
so that on a shared machine they stand back for what they measure (``SIM_NICE``).
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import json
import logging
import multiprocessing as mp
import os
import random
import resource
import selectors
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from central.config import CentralConfig, CentralSection  # noqa: E402
from central.db import open_database  # noqa: E402
from central.keys import Keyring  # noqa: E402
from central.worker import Worker  # noqa: E402
from sync import config as config_mod  # noqa: E402
from sync.acl import Device  # noqa: E402
from sync.agent import SyncAgent  # noqa: E402
from sync.agent.connection import Backoff, connect_properties, presence, request_properties  # noqa: E402
from sync.bridge import CoreLink, render_region_bridge  # noqa: E402
from sync.broker import Mosquitto  # noqa: E402
from sync.clock import SYSTEM  # noqa: E402
from sync.config import BrokerSection  # noqa: E402
from sync.protocol import bundle as wire  # noqa: E402
from sync.protocol import events as events_wire  # noqa: E402
from sync.protocol import signing  # noqa: E402
from sync.protocol.topics import DeviceTopics, bundle_topic  # noqa: E402

CHAIN = "sim"
REGIONS = 10
KINDS = ("kiosk", "tablet", "signage-a", "signage-b", "pos")
SESSION_EXPIRY_S = 3600
BATCH = 10  # events per outbox message in the ingest phase
PROC_FD_RESERVE = 200
CONNECT_TIMEOUT_S = 0.5
RECONNECTS_PER_TURN = 1000
MISC_SPREAD = 5  # the keepalive is 60 s: a ping due is sent at most 5 s late
# The simulator stands for 25,000 devices' own CPUs. Sharing two cores with what it measures, it yields to head
# office and the brokers (it would otherwise take the most, being six busy processes) and offers what it can with
# the rest: "events sent by the devices" shows whether that was the whole offered rate.
SIM_NICE = 10
READ_WRITE = selectors.EVENT_READ | selectors.EVENT_WRITE


def report(name: str, value: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    print(f"  {name:<62} {value:>18}   target {target:<12} {verdict}", flush=True)


def store_name(i: int) -> str:
    return f"s{i:05d}"


def region_of(i: int, regions: int = REGIONS) -> str:
    return f"r{i % regions:02d}"


# --- the simulated devices: one process, many sessions, one epoll loop ------------------------------


@dataclass(eq=False)
class SimDevice:
    topics: DeviceTopics
    client: mqtt.Client
    bind: str
    port: int  # its store's broker: the one broker, or its region's edge
    number: int  # its place in its process's list
    backoff: Backoff = field(default_factory=Backoff)
    boot: str = field(default_factory=lambda: uuid.uuid4().hex)
    connected: bool = False
    started: bool = False
    reconnect_at: float | None = None
    applied: dict[str, int] = field(default_factory=dict)
    fresh: set[str] = field(default_factory=set)  # scopes whose retained bundle came since the last connect
    seq: int = 0
    pending: set[int] = field(default_factory=set)
    head: str = ""  # the envelope's fields that never change for this device, as JSON (``event_head``)
    scopes: frozenset[str] = frozenset()  # the bundles it is ready with: the chain's, its region's, its store's


class SimProcess:
    """A slice of the fleet. Commands come from the orchestrator over a pipe; answers are status dicts."""

    def __init__(self, devices: list[tuple[int, str]], ports: list[int], regions: int, public_key: str,
                 worker_no: int):
        """``ports``: the brokers; a store's devices use ``ports[store % len(ports)]``."""
        self.keys = signing.TrustedKeys([signing.load_public_key(public_key)])
        self.sel = selectors.DefaultSelector()
        self.devices: list[SimDevice] = []
        for n, (store_no, kind) in enumerate(devices):
            t = DeviceTopics(CHAIN, region_of(store_no, regions), store_name(store_no), f"{kind}-{store_no}")
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-{t.device}", protocol=mqtt.MQTTv5,
                            reconnect_on_failure=False)
            # A TCP connect blocks this process's one loop: when the broker's accept queue is full (it is busy
            # saving its sessions), give up soon and let the backoff retry, instead of starving every session.
            c.connect_timeout = CONNECT_TIMEOUT_S
            # Many source addresses: a restart storm reuses no 4-tuple the dead broker left in TIME_WAIT.
            d = SimDevice(t, c, bind=f"127.0.{1 + worker_no}.{1 + n % 250}", port=ports[store_no % len(ports)],
                          number=n)
            c.user_data_set(d)
            c.will_set(t.presence, presence("offline", d.boot, 0), qos=1, retain=True,
                       properties=_will_delay())
            c.on_connect, c.on_disconnect, c.on_message = self._on_connect, self._on_disconnect, self._on_message
            c.on_socket_open = lambda cl, u, s: self.sel.register(s, selectors.EVENT_READ, cl)
            c.on_socket_close = lambda cl, u, s: self._unregister(s)
            c.on_socket_register_write = lambda cl, u, s: self.sel.modify(s, READ_WRITE, cl)
            c.on_socket_unregister_write = lambda cl, u, s: self.sel.modify(s, selectors.EVENT_READ, cl)
            d.head = event_head(d)
            d.scopes = frozenset({"chain", f"region/{t.region}", f"store/{t.store}"})
            self.devices.append(d)
        self.reconnects: list[tuple[float, int]] = []  # (when, device number): a heap, so a turn reads only the due
        self.sent = self.acked = self.lookups = self.answers = self.bad_bundles = 0
        self.ingest_rate = self.lookup_rate = 0.0
        self._rr = 0

    def reconnect_later(self, d: SimDevice, at: float) -> None:
        d.reconnect_at = at
        heapq.heappush(self.reconnects, (at, d.number))

    def _unregister(self, sock) -> None:
        try:
            self.sel.unregister(sock)
        except (KeyError, ValueError):
            pass

    # paho callbacks -----------------------------------------------------------------------------
    def _on_connect(self, client, d: SimDevice, flags, rc, props) -> None:
        if rc.is_failure:
            return
        d.connected, d.fresh = True, set()
        d.backoff.reset()
        client.subscribe([(topic, 1) for topic in d.topics.subscriptions()])
        client.publish(d.topics.presence, presence("online", d.boot, time.time()), qos=1, retain=True)

    def _on_disconnect(self, client, d: SimDevice, flags, rc, props) -> None:
        d.connected = False
        self.reconnect_later(d, time.monotonic() + d.backoff.next())

    def _on_message(self, client, d: SimDevice, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic
        if "/bundle/" in topic:
            scope = topic.split("/bundle/", 1)[1]
            try:
                manifest = wire.parse_manifest(msg.payload, chain=CHAIN, scope=scope)
                wire.verify_signature(manifest, self.keys)
                wire.verify_content(manifest, wire.inline_content(manifest))
            except wire.BundleRejected:
                self.bad_bundles += 1
                return
            d.applied[scope] = max(manifest.version, d.applied.get(scope, 0))
            d.fresh.add(scope)
        elif topic == d.topics.acks:
            seqs = json.loads(msg.payload)["seqs"]
            d.pending.difference_update(seqs)
            self.acked += len(seqs)
        elif topic == d.topics.responses:
            self.answers += 1

    # the loop -------------------------------------------------------------------------------------
    def connect(self, d: SimDevice) -> None:
        d.reconnect_at = None
        try:
            if not d.started:
                d.started = True
                d.client.connect("127.0.0.1", d.port, keepalive=60, bind_address=d.bind, clean_start=False,
                                 properties=connect_properties(SESSION_EXPIRY_S))
            else:
                d.client.reconnect()
        except OSError:
            self.reconnect_later(d, time.monotonic() + d.backoff.next())

    def status(self) -> dict:
        return {
            "connected": sum(d.connected for d in self.devices),
            "ready": sum(d.connected and d.scopes <= d.fresh for d in self.devices),
            "chain_versions": _histogram(d.applied.get("chain", 0) for d in self.devices),
            "sent": self.sent, "acked": self.acked, "unacked": sum(len(d.pending) for d in self.devices),
            "lookups": self.lookups, "answers": self.answers, "bad_bundles": self.bad_bundles,
            "rss": psutil.Process().memory_info().rss,
        }

    def run(self, conn) -> None:
        last_misc = last_tick = time.monotonic()
        misc_turn = 0
        ingest_credit = lookup_credit = 0.0
        while True:
            if conn.poll():
                command = conn.recv()
                if command[0] == "stop":
                    for d in self.devices:
                        d.client.disconnect()
                    conn.send(self.status())
                    return
                if command[0] == "connect":
                    now = time.monotonic()
                    for d in self.devices:  # everyone at once: due now, in the loop's reconnect turns
                        self.reconnect_later(d, now)
                elif command[0] == "ingest":
                    self.ingest_rate, self.lookup_rate = command[1], command[2]
                conn.send(self.status())
            self._pump(0.02)
            now = time.monotonic()
            for _ in range(RECONNECTS_PER_TURN):  # the rest next turn, after the sockets are served
                if not self.reconnects or self.reconnects[0][0] > now:
                    break
                at, n = heapq.heappop(self.reconnects)
                d = self.devices[n]
                if d.reconnect_at == at:  # else an entry a later schedule replaced
                    self.connect(d)
                    self._pump(0)
            if now - last_misc >= 1.0:  # keepalive pings and paho's timers: each device every MISC_SPREAD s
                for d in self.devices[misc_turn::MISC_SPREAD]:
                    d.client.loop_misc()
                last_misc, misc_turn = now, (misc_turn + 1) % MISC_SPREAD
            dt, last_tick = now - last_tick, now
            ingest_credit += self.ingest_rate * dt / BATCH
            lookup_credit += self.lookup_rate * dt
            while ingest_credit >= 1:
                ingest_credit -= 1
                self._send_batch(self._next_connected())
            while lookup_credit >= 1:
                lookup_credit -= 1
                self._send_lookup(self._next_connected())

    def _pump(self, timeout: float) -> None:
        for key, mask in self.sel.select(timeout):
            client = key.data
            if mask & selectors.EVENT_READ:
                client.loop_read()
            if mask & selectors.EVENT_WRITE:
                client.loop_write()

    def _next_connected(self) -> SimDevice | None:
        for _ in range(len(self.devices)):
            self._rr = (self._rr + 1) % len(self.devices)
            if self.devices[self._rr].connected:
                return self.devices[self._rr]
        return None

    def _send_batch(self, d: SimDevice | None) -> None:
        if d is None:
            return
        now, mono = time.time(), time.monotonic()
        ms = int(now * 1000)
        envelopes = []
        for _ in range(BATCH):
            d.seq += 1
            d.pending.add(d.seq)
            envelopes.append(sim_envelope(d, events_wire.uuid7(ms), d.seq, now, mono))
        d.client.publish(d.topics.events, events_wire.batch(envelopes), qos=1)
        self.sent += BATCH

    def _send_lookup(self, d: SimDevice | None) -> None:
        if d is None:
            return
        body = json.dumps({"phone_hash": os.urandom(32).hex()}).encode()
        d.client.publish(d.topics.lookup_requests, body, qos=0,
                         properties=request_properties(d.topics.responses, uuid.uuid4().bytes))
        self.lookups += 1


SIM_EVENT = ("offer_shown", '{"offer":"OFF-1","channel":"kiosk"}')  # the event type and payload every device sends


def event_head(d: SimDevice) -> str:
    """The part of ``events_wire.envelope`` that is the same for each of a device's events, made once."""
    kind, _ = SIM_EVENT
    return json.dumps({"type": kind, "boot_id": d.boot, "device": d.topics.device, "store": d.topics.store},
                      separators=(",", ":"))[1:-1]


def sim_envelope(d: SimDevice, event_id: str, seq: int, wall_time: float, mono_time: float) -> bytes:
    """The bytes ``events_wire.envelope`` makes for this event (a test holds them equal), at a fifth of its cost:
    25,000 devices sending 24,000 events/s share the two cores with what they measure."""
    return (f'{{"id":"{event_id}","seq":{seq},{d.head},"wall_time":{wall_time!r},"mono_time":{mono_time!r},'
            f'"payload":{SIM_EVENT[1]}}}').encode()


def _will_delay():
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.WILLMESSAGE)
    props.WillDelayInterval = 10
    return props


def _histogram(values) -> dict[int, int]:
    out: dict[int, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def sim_main(devices, ports, regions, public_key, number, conn) -> None:
    _raise_fd_limit()
    os.nice(SIM_NICE)
    SimProcess(devices, ports, regions, public_key, number).run(conn)


# --- head office: workers in their own processes -----------------------------------------------------


def worker_main(config: CentralConfig, number: int, stop) -> None:
    worker = Worker(config, number, clock=SYSTEM, keys=Keyring(config.central.keys_dir)).start()
    stop.wait()
    worker.stop()


class Fleet:
    """The orchestrator's handle on the simulated devices."""

    def __init__(self, slices: list[list[tuple[int, str]]], ports: list[int], regions: int, public_key: str):
        ctx = mp.get_context("spawn")
        self.pipes, self.procs = [], []
        for number, devices in enumerate(slices):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=sim_main, args=(devices, ports, regions, public_key, number, theirs), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def ask(self, *command) -> list[dict]:
        for p in self.pipes:
            p.send(command)
        return [p.recv() for p in self.pipes]

    def total(self, key: str, statuses: list[dict]) -> int:
        return sum(s[key] for s in statuses)


def _raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def publish_retained(port: int, messages: list[tuple[str, bytes]]) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-office-{uuid.uuid4().hex[:6]}",
                    protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.connect("127.0.0.1", port)
    c.loop_start()
    infos = [c.publish(topic, payload, qos=1, retain=True) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(60)
    c.loop_stop()
    c.disconnect()


def manifest(key: Ed25519PrivateKey, scope: str, version: int) -> bytes:
    content = {"prices": [{"sku": f"SKU{n:03d}", "price_cents": 100 + n + version, "currency": "EUR"}
                          for n in range(5)]}
    doc, _ = wire.build_manifest(chain=CHAIN, scope=scope, version=version, content=content, key=key)
    return json.dumps(doc).encode()


def online_at_office(office, since: float) -> int:
    """Simulated devices head office shows online, by a presence sent at or after ``since`` (wall clock)."""
    return office.scalar("SELECT count(*) FROM devices WHERE state = 'online' AND presence_at >= ?"
                         " AND device NOT LIKE 'real-%'", (since,)) or 0


# --- the regional topology: an edge broker per region, bridged to the core -----------------------------


def bridged_edges(tmp: Path, core: Mosquitto, everyone: list[tuple[int, str]], regions: int,
                  real_agents: int) -> list[Mosquitto]:
    """One Mosquitto per region, carrying the bridge `store-edge bridge --region` writes from the store list."""
    if not regions:
        return []
    devices = [Device(f"{kind}-{s}", store_name(s), region_of(s, regions)) for s, kind in everyone]
    devices += [Device(f"real-{n}", store_name(0), region_of(0, regions)) for n in range(real_agents)]
    edges = []
    for k in range(regions):
        edge = Mosquitto(data_dir=tmp / f"edge-{k}")
        bridge = render_region_bridge(CHAIN, region_of(k, regions), devices, CoreLink("127.0.0.1", core.port))
        edge.conf.write_text(edge.conf.read_text() + bridge)
        edges.append(edge)
    return edges


class BridgeWatch:
    """When each edge's bridge last came up, from the state each edge publishes about its own link."""

    def __init__(self, edges: list[Mosquitto]) -> None:
        self.up_at: dict[int, float | None] = {}
        self.clients = []
        for edge in edges:
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-bridges-{edge.port}",
                            protocol=mqtt.MQTTv5, userdata=edge.port)
            c.on_connect = lambda cl, port, flags, rc, props: cl.subscribe("$SYS/broker/connection/+/state")
            c.on_message = lambda cl, port, msg: self.up_at.__setitem__(
                port, time.monotonic() if msg.payload == b"1" else None)
            c.connect("127.0.0.1", edge.port)
            c.loop_start()
            self.clients.append(c)
        deadline = time.monotonic() + 30
        while self.up_since(0) < len(edges) and time.monotonic() < deadline:
            time.sleep(0.1)

    def up_since(self, t: float) -> int:
        return sum(1 for at in self.up_at.values() if at is not None and at >= t)

    def stop(self) -> None:
        for c in self.clients:
            c.loop_stop()
            c.disconnect()


def core_outage(fleet: Fleet, core: Mosquitto, edges: list[Mosquitto], sampler: Sampler, workers: list,
                office, sessions: int) -> None:
    print("core broker killed with SIGKILL and restarted at once: the edges keep their devices")
    bridges = BridgeWatch(edges)
    killed = time.monotonic()
    core.kill(signal.SIGKILL)
    # The devices never go offline, so head office's table would still say 'online' from before: clear it, and
    # time how long the restarted core and the worker take to show every device again.
    office.execute("UPDATE devices SET state = 'offline' WHERE device NOT LIKE 'real-%'")
    core.start(timeout=300)
    lowest = {"connected": sessions, "ready": sessions}

    def seen(statuses: list[dict]) -> None:
        for key in lowest:
            lowest[key] = min(lowest[key], fleet.total(key, statuses))

    took, _ = watch(fleet, {
        "bridges": lambda st: bridges.up_since(killed) == len(edges),
        "office": lambda st: online_at_office(office, 0) >= sessions,
    }, sampler, workers, 600, killed, seen)
    bridges.stop()
    report("every edge bridged to the core again", _secs(took["bridges"]), "(no target)", None)
    report("head office sees every device online again", _secs(took["office"]), "≤ 120 s",
           took["office"] is not None and took["office"] <= 120)
    report("devices connected to their edge all along (fewest seen)", f"{lowest['connected']:,} of {sessions:,}",
           "all", lowest["connected"] == sessions)
    report("devices with their retained bundles all along (fewest seen)", f"{lowest['ready']:,} of {sessions:,}",
           "all", lowest["ready"] == sessions)


def edge_outage(fleet: Fleet, edge: Mosquitto, region: str, in_region: int, sampler: Sampler, workers: list,
                storm, sessions: int) -> None:
    print(f"edge broker {region} killed with SIGKILL and restarted at once: its {in_region:,} sessions reconnect")
    killed_wall, killed = time.time(), time.monotonic()
    edge.kill(signal.SIGKILL)
    edge.start(timeout=300)
    took = storm(killed_wall, killed, in_region)
    report("every session reconnected", _secs(took["connected"]), "(no target)", None)
    report("every device has its retained bundles again", _secs(took["ready"]), "≤ 120 s",
           took["ready"] is not None and took["ready"] <= 120)
    report("head office sees the region's devices online again", _secs(took["office"]), "≤ 120 s",
           took["office"] is not None and took["office"] <= 120)


class Sampler:
    """Peak RSS of each broker and of head office's worker processes."""

    def __init__(self, brokers: dict[str, Mosquitto]) -> None:
        self.brokers = brokers
        self.broker_peaks = dict.fromkeys(brokers, 0)
        self.office_peak = 0

    def sample(self, workers: list) -> None:
        for name, broker in self.brokers.items():
            try:
                rss = psutil.Process(broker.proc.pid).memory_info().rss
            except (psutil.Error, AttributeError):
                continue
            self.broker_peaks[name] = max(self.broker_peaks[name], rss)
        total = 0
        for w in workers:
            try:
                total += psutil.Process(w.pid).memory_info().rss
            except psutil.Error:
                pass
        self.office_peak = max(self.office_peak, total)


def cpu_seconds(fleet: Fleet, brokers: dict[str, Mosquitto], workers: list) -> dict[str, float]:
    """CPU time so far of each part sharing this machine's cores (a PostgreSQL backend that ended is not counted)."""
    def used(pids) -> float:
        total = 0.0
        for pid in pids:
            try:
                t = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total

    postgres = [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    return {"the simulator": used(p.pid for p in fleet.procs),
            "the brokers": used(b.proc.pid for b in brokers.values() if b.proc),
            "head office's workers": used(w.pid for w in workers),
            "PostgreSQL": used(postgres),
            "this orchestrator": used([os.getpid()])}


def watch(fleet: Fleet, goals: dict, sampler: Sampler, workers: list, timeout: float,
          started: float | None = None, seen=None) -> tuple[dict[str, float | None], list[dict]]:
    """Seconds from ``started`` (monotonic; default now) until each goal (a test of the simulators' statuses)
    first held; None if never. ``seen`` is shown every status on the way."""
    started = time.monotonic() if started is None else started
    reached: dict[str, float | None] = dict.fromkeys(goals)
    statuses = fleet.ask("status")
    while time.monotonic() - started < timeout:
        sampler.sample(workers)
        if seen:
            seen(statuses)
        for name, goal in goals.items():
            if reached[name] is None and goal(statuses):
                reached[name] = time.monotonic() - started
        if all(v is not None for v in reached.values()):
            break
        time.sleep(0.25)
        statuses = fleet.ask("status")
    return reached, statuses


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stores", type=int, default=0, help="default: as many as the file-descriptor limit allows")
    p.add_argument("--devices", type=int, default=5, help="per store")
    p.add_argument("--processes", type=int, default=6,
                   help="simulator processes (each opens its connections one at a time)")
    p.add_argument("--real-agents", type=int, default=3)
    p.add_argument("--ingest-s", type=float, default=600, help="seconds of sustained events per worker count")
    p.add_argument("--rate", type=float, default=24_000, help="offered events/s, all stores together")
    p.add_argument("--lookup-rate", type=float, default=50, help="lookups/s, all stores together")
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--chart", help="save the ingest backlog over time here (PNG)")
    p.add_argument("--regions", type=int, default=0,
                   help="K regional brokers bridged to a core broker (default 0: every device on one broker)")
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the real agents' reconnect lines would bury the figures

    fd_limit = _raise_fd_limit()
    fits = max(1, args.regions) * (fd_limit - PROC_FD_RESERVE) // args.devices
    stores = args.stores or min(5000, fits)
    sessions = stores * args.devices
    print(f"store-edge fleet simulator: {stores:,} stores × {args.devices} devices = {sessions:,} MQTT sessions"
          f" (+{args.real_agents} real agents), {args.processes} simulator processes, {os.cpu_count()} cores")
    if stores < 5000 and not args.stores:
        print(f"  5,000 stores need {5000 * args.devices:,} sessions; the broker is one process, and this machine's"
              f" hard limit on open files per process is {fd_limit:,} (RLIMIT_NOFILE; raising it needs"
              " CAP_SYS_RESOURCE, which this container does not have)")
    regions = args.regions or REGIONS
    if args.regions:
        print(f"  {args.regions} regional Mosquittos (one per region, ~{sessions / args.regions:,.0f} sessions each),"
              " each bridged over MQTT 5 to the core broker by `store-edge bridge --region`; head office on the core")
    db_name = f"se_fleet_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    pg_url = args.pg.rsplit("/", 1)[0] + f"/{db_name}"
    key = Ed25519PrivateKey.generate()
    public_pem = signing.public_key_pem(key.public_key())
    ctx = mp.get_context("spawn")
    workers: list = []
    fleet: Fleet | None = None
    agents: list[SyncAgent] = []
    brokers: dict[str, Mosquitto] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="se-fleet-", ignore_cleanup_errors=True) as tmp:
            everyone = [(s, kind) for s in range(stores) for kind in KINDS[:args.devices]]
            random.Random(7).shuffle(everyone)
            broker = Mosquitto(data_dir=Path(tmp) / ("core" if args.regions else "broker"))
            edges = bridged_edges(Path(tmp), broker, everyone, args.regions, args.real_agents)
            brokers = {"broker": broker} if not edges else {"core": broker} | {
                f"edge {region_of(k, regions)}": edge for k, edge in enumerate(edges)}
            for b in brokers.values():
                # The chain's setting (config/mosquitto-chain.conf): a save every second would rewrite 20k sessions.
                b.conf.write_text(b.conf.read_text().replace("autosave_interval 1", "autosave_interval 5"))
                b.start(timeout=60)
            device_ports = [edge.port for edge in edges] or [broker.port]
            keys = Keyring(Path(tmp) / "keys")
            keys.activate(keys.new_key())
            config = CentralConfig(CentralSection(chain=CHAIN, dsn=pg_url, keys_dir=str(keys.folder),
                                                  content_dir=f"{tmp}/ho", http_dir=f"{tmp}/http"),
                                   BrokerSection(port=broker.port, keepalive_s=30))
            open_database(pg_url).close()  # migrate once, before the workers race to
            stops: list = []

            def set_workers(n: int) -> None:
                while len(workers) > n:
                    stops.pop().set()
                    workers.pop().join(30)
                while len(workers) < n:
                    stop = ctx.Event()
                    proc = ctx.Process(target=worker_main, args=(config, len(workers) + 1, stop), daemon=True)
                    proc.start()
                    workers.append(proc)
                    stops.append(stop)

            set_workers(1)
            retained = [(bundle_topic(CHAIN, "chain"), manifest(key, "chain", 1))]
            retained += [(bundle_topic(CHAIN, f"region/{region_of(r)}"), manifest(key, f"region/{region_of(r)}", 1))
                         for r in range(regions)]
            retained += [(bundle_topic(CHAIN, f"store/{store_name(s)}"), manifest(key, f"store/{store_name(s)}", 1))
                         for s in range(stores)]
            t = time.monotonic()
            publish_retained(broker.port, retained)
            print(f"  ({len(retained):,} retained bundles published in {time.monotonic() - t:.1f} s)")

            (Path(tmp) / "chain.pub").write_bytes(public_pem)
            for n in range(args.real_agents):
                base = config_mod.load(env={})
                cfg = dataclasses.replace(
                    base, device=config_mod.DeviceSection(id=f"real-{n}", chain=CHAIN, region=region_of(0, regions),
                                                          store=store_name(0)),
                    cache=dataclasses.replace(base.cache, path=f"{tmp}/real-{n}/cache.db",
                                              media_dir=f"{tmp}/real-{n}/media"),
                    broker=BrokerSection(port=device_ports[0], keepalive_s=30),
                    sync=dataclasses.replace(base.sync, trusted_keys=(f"{tmp}/chain.pub",)))
                agents.append(SyncAgent(cfg, clock=SYSTEM).start())

            slices = [everyone[i::args.processes] for i in range(args.processes)]
            fleet = Fleet(slices, device_ports, regions, f"{tmp}/chain.pub")
            sampler = Sampler(brokers)
            office = open_database(pg_url)

            def storm(since_wall: float, started: float, announced: int = sessions) -> dict[str, float | None]:
                """``announced``: how many devices say 'online' again (a region's, when only its edge restarts)."""
                reached, _ = watch(fleet, {
                    "connected": lambda st: fleet.total("connected", st) == sessions,
                    "ready": lambda st: fleet.total("ready", st) == sessions,
                    "office": lambda st: online_at_office(office, since_wall) >= announced,
                }, sampler, workers, 600, started)
                return reached

            print("connect storm: every session at once")
            started_wall, started = time.time(), time.monotonic()
            fleet.ask("connect")
            took = storm(started_wall, started)
            report("every session connected (cold start)", _secs(took["connected"]), "(no target)", None)
            report("every device has its retained bundles", _secs(took["ready"]), "(no target)", None)
            report("head office sees every device online", _secs(took["office"]), "(no target)", None)

            time.sleep(7)  # past the broker's autosave: what a kill -9 keeps is on disk
            if not edges:
                print("broker killed with SIGKILL and restarted at once: every session reconnects")
                killed_wall, killed = time.time(), time.monotonic()
                broker.kill(signal.SIGKILL)
                broker.start(timeout=300)  # it reads back every session it saved first
                took = storm(killed_wall, killed)
                report("every session reconnected", _secs(took["connected"]), "(no target)", None)
                report("every device has its retained bundles again", _secs(took["ready"]), "≤ 120 s",
                       took["ready"] is not None and took["ready"] <= 120)
                report("head office sees every device online again", _secs(took["office"]), "≤ 120 s",
                       took["office"] is not None and took["office"] <= 120)
            else:
                core_outage(fleet, broker, edges, sampler, workers, office, sessions)
                time.sleep(7)
                edge_outage(fleet, edges[0], region_of(0, regions), sum(s % regions == 0 for s, _ in everyone),
                            sampler, workers, storm, sessions)
            statuses = fleet.ask("status")
            for name, peak in sampler.broker_peaks.items():
                label = "peak broker memory (RSS)" if name == "broker" else f"peak {name} broker memory (RSS)"
                report(label, f"{peak / 2**20:,.0f} MiB", "(no target)", None)
            report("peak head office memory (RSS, one worker)", f"{sampler.office_peak / 2**20:,.0f} MiB",
                   "(no target)", None)
            report("simulator memory per session", f"{fleet.total('rss', statuses) / sessions / 1024:,.1f} KiB",
                   "(no target)", None)

            print("fan-out: one chain bundle, published once")
            started = time.monotonic()
            publish_retained(broker.port, [(bundle_topic(CHAIN, "chain"), manifest(key, "chain", 2))])
            p99 = None
            while time.monotonic() - started < 300:
                statuses = fleet.ask("status")
                have = sum(s["chain_versions"].get(2, 0) for s in statuses)
                real = sum(a.reader.sync_state().get("chain", {}).get("version", 0) == 2 for a in agents)
                if p99 is None and have >= 0.99 * sessions:
                    p99 = time.monotonic() - started
                if have == sessions and real == len(agents):
                    break
                time.sleep(0.2)
            full = time.monotonic() - started if have == sessions else None
            report("99 % of devices applied it", _secs(p99), "(no target)", None)
            report("100 % of devices applied it (real agents included)", _secs(full), "≤ 60 s",
                   full is not None and full <= 60)
            report("bundles refused by the simulated devices", f"{fleet.total('bad_bundles', statuses)}", "0",
                   fleet.total("bad_bundles", statuses) == 0)

            series: dict[int, list[tuple[float, int]]] = {}
            for n in (int(w) for w in args.workers.split(",")):
                set_workers(n)
                time.sleep(2)
                print(f"ingest: {args.rate:,.0f} events/s offered for {args.ingest_s:.0f} s, {n} worker(s)")
                stored0 = office.scalar("SELECT count(*) FROM events")
                before = fleet.ask("status")
                acked0, sent0 = fleet.total("acked", before), fleet.total("sent", before)
                answers0 = fleet.total("answers", before)
                cpu0 = cpu_seconds(fleet, brokers, workers)
                started = time.monotonic()
                fleet.ask("ingest", args.rate / args.processes, args.lookup_rate / args.processes)
                points = series.setdefault(n, [])
                while time.monotonic() - started < args.ingest_s:
                    time.sleep(1)
                    s = fleet.ask("status")
                    points.append((time.monotonic() - started,
                                   fleet.total("sent", s) - sent0 - (fleet.total("acked", s) - acked0)))
                    sampler.sample(workers)
                s = fleet.ask("ingest", 0.0, 0.0)
                window = time.monotonic() - started
                cpu = {part: (t - cpu0[part]) / window for part, t in cpu_seconds(fleet, brokers, workers).items()}
                stored = office.scalar("SELECT count(*) FROM events") - stored0
                acked, sent = fleet.total("acked", s) - acked0, fleet.total("sent", s) - sent0
                report(f"{n} worker(s): events stored", f"{stored / window:,.0f} ev/s", "≥ 20,000 ev/s",
                       stored / window >= 20_000)
                report(f"{n} worker(s): events sent by the devices", f"{sent / window:,.0f} ev/s", "", None)
                report(f"{n} worker(s): events acked to their devices", f"{acked / window:,.0f} ev/s", "", None)
                report(f"{n} worker(s): backlog at the end (sent, not acked)", f"{sent - acked:,}", "", None)
                report(f"{n} worker(s): lookups answered", f"{fleet.total('answers', s) - answers0:,}", "", None)
                for part, cores in cpu.items():
                    report(f"{n} worker(s): cores used by {part} under the load", f"{cores:.2f}", "", None)
                drained, _ = watch(fleet, {"drained": lambda st: fleet.total("unacked", st) == 0}, sampler,
                                   workers, 300)
                report(f"{n} worker(s): backlog drained after the load stopped", _secs(drained["drained"]), "", None)
            if args.chart:
                save_chart(series, args.chart, args.rate)
            office.close()
    finally:
        if fleet:
            for proc in fleet.procs:
                proc.terminate()
        for a in agents:
            a.stop()
        for proc in workers:
            proc.terminate()
        for b in brokers.values():
            b.kill(signal.SIGTERM)
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    return 0


def _secs(value: float | None) -> str:
    return "not reached" if value is None else f"{value:,.1f} s"


def save_chart(series: dict[int, list[tuple[float, int]]], path: str, rate: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    for n, points in sorted(series.items()):
        ax.plot([t for t, _ in points], [b for _, b in points], label=f"{n} worker(s)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("events sent, not yet acked")
    ax.set_title(f"Ingest backlog at {rate:,.0f} events/s offered")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    print(f"  chart: {path}")


if __name__ == "__main__":
    sys.exit(main())
