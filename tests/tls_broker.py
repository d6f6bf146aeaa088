"""The chain broker as shipped (config/mosquitto-chain.conf, TLS, the generated ACL) on a real Mosquitto,
with certificates the test makes, and an MQTT 5 client per certificate."""

from __future__ import annotations

import os
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
from support import make_pki, wait_for

from sync.broker import Mosquitto
from sync.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
NOT_AUTHORIZED = 135  # MQTT 5 reason code

class Client:
    """One MQTT 5 client over TLS with a certificate; keeps what it receives and its SUBACK codes."""

    def __init__(self, port: int, pki: dict[str, Path], name: str):
        self.received: list[tuple[str, bytes]] = []
        self.subacks: dict[int, list[int]] = {}
        self.pubacks: dict[int, int] = {}
        self._lock = threading.Lock()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-test", protocol=mqtt.MQTTv5)
        self.c.tls_set(ca_certs=str(pki["ca"]), certfile=str(pki[f"{name}_cert"]), keyfile=str(pki[f"{name}_key"]),
                       cert_reqs=ssl.CERT_REQUIRED)
        self.c.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))
        self.c.on_subscribe = lambda c, u, mid, codes, p: self.subacks.__setitem__(mid, [r.value for r in codes])
        self.c.on_publish = lambda c, u, mid, rc, p: self.pubacks.__setitem__(mid, rc.value)
        self.connected = threading.Event()
        self.c.on_connect = lambda c, u, f, rc, p: self.connected.set() if not rc.is_failure else None
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        assert self.connected.wait(10), f"{name} could not connect"

    def subscribe(self, *topics: str) -> list[int]:
        _, mid = self.c.subscribe([(t, 1) for t in topics])
        wait_for(lambda: mid in self.subacks, what="SUBACK")
        return self.subacks[mid]

    def publish(self, topic: str, payload: bytes, properties: mqtt.Properties | None = None) -> int:
        info = self.c.publish(topic, payload, qos=1, properties=properties)
        wait_for(lambda: info.mid in self.pubacks, what="PUBACK")
        return self.pubacks[info.mid]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def chain_conf(tmp_path: Path, pki: dict[str, Path], acl_file: Path, port: int) -> str:
    """The shipped config/mosquitto-chain.conf with this test's files, port and folders."""
    text = (ROOT / "config" / "mosquitto-chain.conf").read_text()
    for name, path in (("ca.pem", pki["ca"]), ("broker.pem", pki["server_cert"]), ("broker.key", pki["server_key"]),
                       ("acl", acl_file)):
        text = text.replace(f"/etc/mosquitto/store-edge/{name}\n", f"{path}\n")
    text = text.replace("listener 8883", f"listener {port} 127.0.0.1")
    text = text.replace("persistence_location /var/lib/mosquitto/", f"persistence_location {tmp_path}/")
    assert "/etc/mosquitto" not in re.sub(r"#.*", "", text)  # every file the config names was replaced
    # As root, mosquitto would drop to the 'mosquitto' user and could not write in our folder.
    return text + f"log_dest file {tmp_path}/mosquitto.log\n" + ("user root\n" if os.geteuid() == 0 else "")


@contextmanager
def chain_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, dict[str, Path], Callable[[str], Client]]]:
    """kiosk-1 (store s001, certificate ``device``) and kiosk-2 (s002, ``kiosk-2``) under the generated ACL;
    ``connect(name)`` opens a client with that certificate (``central`` is head office's)."""
    pki = make_pki(tmp_path / "pki", clients=("kiosk-2", "central"))
    devices = tmp_path / "devices.csv"
    devices.write_text("device,store,region,kind,pos\nkiosk-1,s001,south,kiosk,\nkiosk-2,s002,north,kiosk,yes\n")
    acl_file = tmp_path / "acl"
    assert cli(["acl", "--devices", str(devices), "--chain", "demo", "--out", str(acl_file)]) == 0
    broker = Mosquitto(data_dir=tmp_path / "broker")
    broker.conf.write_text(chain_conf(tmp_path / "broker", pki, acl_file, broker.port))
    with broker:
        clients: list[Client] = []

        def connect(name: str) -> Client:
            clients.append(Client(broker.port, pki, name))
            return clients[-1]

        try:
            yield broker, pki, connect
        finally:
            for c in clients:
                c.close()
