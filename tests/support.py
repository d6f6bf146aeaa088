"""Helpers the tests share (imported as ``support``; conftest.py only holds fixtures)."""

from __future__ import annotations

import base64
import datetime
import gc
import ipaddress
import json
import os
import sqlite3
import time
import types
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sync.clock import SYSTEM
from sync.protocol import bundle as wire
from sync.protocol import topics
from sync.protocol.content import SECTIONS

CHAIN = "demo"
PG_ADMIN = os.environ.get("STORE_EDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database's URL, dropped afterwards (the central store's tests on PostgreSQL)."""
    import psycopg

    name = f"se_central_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cache_snapshot(path: str | Path) -> dict[str, list[tuple]]:
    """Every row of every content table and the sync state: what 'the cache' means to a screen."""
    conn = sqlite3.connect(str(path))
    try:
        tables = [s.table for s in SECTIONS.values()] + ["sync_state", "consents"]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def sample_content(products: int = 3, *, price: int = 199) -> dict:
    return {
        "products": [{"sku": f"SKU{i:05d}", "name": {"en": f"Product {i}", "bg": f"Продукт {i}", "ru": f"Товар {i}"},
                      "category": "bakery" if i % 2 else "coffee"} for i in range(products)],
        "prices": [{"sku": f"SKU{i:05d}", "price_cents": price + i, "currency": "EUR"} for i in range(products)],
        "offers": [{"id": "OFF1", "priority": 10, "channels": ["kiosk", "signage"],
                    "title": {"en": "Coffee and croissant", "bg": "Кафе и кроасан", "ru": "Кофе и круассан"},
                    "sku": "SKU00000"}],
    }


def retained(port: int, wanted: set[str]) -> dict[str, bytes]:
    """What a brand-new client gets from the broker: every retained message of the chain, by topic."""
    got: dict[str, bytes] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="brand-new-subscriber")
    client.on_message = lambda c, u, msg: got.__setitem__(msg.topic, msg.payload) if msg.retain else None
    client.connect("127.0.0.1", port)
    client.subscribe(f"{topics.PREFIX}/{CHAIN}/#", 1)
    client.loop_start()
    try:
        wait_for(lambda: wanted <= set(got), what=f"the retained messages {sorted(wanted)}")
    finally:
        client.loop_stop()
        client.disconnect()
    return got


def content_text(data: bytes) -> bytes:
    return json.dumps(wire.decode_content(data), ensure_ascii=False).encode()


def raw(payload: bytes) -> bytes:
    """A retained message as it is, and for a bundle manifest its content too: inline, or from its URL."""
    manifest = json.loads(payload)
    if manifest.get("kind") != "store-edge/bundle":
        return payload
    data = (base64.b64decode(manifest["content"]) if "content" in manifest
            else urllib.request.urlopen(manifest["url"], timeout=5).read())
    return payload + content_text(data)



def reachable(root: object, text: str) -> bool:
    seen, todo = set(), [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        try:
            if isinstance(obj, type | types.ModuleType):
                continue
            if isinstance(obj, str):
                if text in obj:
                    return True
                continue
            if isinstance(obj, types.FunctionType):
                todo.extend(cell.cell_contents for cell in obj.__closure__ or ())
                continue
            todo.extend(gc.get_referents(obj))
        except ReferenceError:  # a dead weak proxy: nothing behind it
            continue
    return False


# --- a test PKI for Mosquitto over TLS ---------------------------------------------------------------
def _cert(subject: str, issuer_key, issuer_name, key, *, ca: bool = False, server: bool = False) -> x509.Certificate:
    now = SYSTEM.now()  # OpenSSL in Mosquitto and in the agent checks certificates against the real wall clock
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               # A day back: under faketime -f '@...' each new process (Mosquitto) starts that clock afresh.
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(folder: Path, clients: tuple[str, ...] = ()) -> dict[str, Path]:
    """A chain CA, a broker certificate, kiosk-1's certificate (``device_*``) and one per name in ``clients``
    (``<name>_cert``, ``<name>_key``); a client certificate's CN is the device id."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("store-edge test CA", ca_key, None, ca_key, ca=True)
    files = {}
    named = (("server", "localhost", True), ("device", "kiosk-1", False), *((cn, cn, False) for cn in clients))
    for name, cn, server in named:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(cn, ca_key, ca.subject, key, server=server)
        files[f"{name}_cert"] = folder / f"{name}.pem"
        files[f"{name}_key"] = folder / f"{name}.key"
        files[f"{name}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[f"{name}_key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    files["ca"] = folder / "ca.pem"
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return files


def write_device_toml(folder: Path, chain_key, *, device: str = "kiosk-1", broker: str = "", sync: str = "") -> Path:
    """A device's TOML in ``folder`` that trusts ``chain_key``, with its cache and media there too;
    ``broker`` and ``sync`` are extra lines for those sections."""
    from sync.protocol import signing

    (folder / "chain.pub").write_bytes(signing.public_key_pem(chain_key.public_key()))
    path = folder / "device.toml"
    path.write_text(f'[device]\nid = "{device}"\nchain = "demo"\n[cache]\npath = "{folder}/cache.db"\n'
                    f'media_dir = "{folder}/media"\n[broker]\n{broker}\n'
                    f'[sync]\ntrusted_keys = ["{folder}/chain.pub"]\n{sync}')
    return path


def chain_keyring(folder: Path, chain_key) -> Path:
    """Head office's keys folder holding the chain key the test devices trust, 0600 as the keyring demands."""
    from sync.protocol import signing

    folder.mkdir(parents=True, exist_ok=True)
    private = folder / f"chain-{signing.key_id(chain_key.public_key())}.key"
    private.write_bytes(signing.private_key_pem(chain_key))
    private.chmod(0o600)
    return folder


@contextmanager
def bundles_sent(port: int) -> Iterator[list[str]]:
    """Every bundle manifest the broker passes on while the block runs (retained ones left out)."""
    got: list[str] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="bundle-watcher")
    client.on_message = lambda c, u, msg: None if msg.retain else got.append(msg.topic)
    subscribed = []
    client.on_subscribe = lambda *a: subscribed.append(True)
    client.connect("127.0.0.1", port)
    client.subscribe(f"{topics.PREFIX}/{CHAIN}/bundle/#", 1)
    client.loop_start()
    wait_for(lambda: subscribed, what="watcher subscribed")
    try:
        yield got
        time.sleep(0.5)  # what was sent in the block has had time to arrive
    finally:
        client.loop_stop()
        client.disconnect()


def latin_only_font(path: Path) -> bytes:
    """Kivy's DejaVu Sans cut down to Latin letters and digits, written to ``path``: a font a brand may ship that
    has no Cyrillic (bg and ru would draw boxes)."""
    from importlib.util import find_spec

    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(Path(find_spec("kivy").origin).parent / "data" / "fonts" / "DejaVuSans.ttf"))
    subsetter = subset.Subsetter(subset.Options())
    subsetter.populate(text="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    subsetter.subset(font)
    font.save(str(path))
    return path.read_bytes()
