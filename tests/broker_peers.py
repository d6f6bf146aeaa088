"""The broker the conformance suite checks, and MQTT 5 clients on it with the identities the product uses.

By default the chain's own Mosquitto as shipped (TLS, client certificates, the generated ACL), started by
the test. With ``--broker mqtts://host:port`` the suite checks another broker (EMQX, HiveMQ, a managed
service) that a chain plans to run; ``docs/operations.md`` says how to set it up.
"""

from __future__ import annotations

import socket
import ssl
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from support import wait_for

from sync.protocol.topics import DeviceTopics

IDENTITIES = ("central", "kiosk-1", "kiosk-2")


@dataclass(frozen=True)
class Target:
    """Where the broker is and how each identity proves itself: a certificate, or a password file."""

    host: str
    port: int
    chain: str
    ca_file: Path | None
    credentials: dict[str, tuple[Path, Path] | str]  # identity -> (cert, key) or a password

    @classmethod
    def from_options(cls, url: str, ca_file: str | None, identities: str, chain: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"--broker must look like mqtts://host:8883, not {url!r}")
        folder = Path(identities)
        credentials: dict[str, tuple[Path, Path] | str] = {}
        for name in IDENTITIES:
            cert, key, password = folder / f"{name}.crt", folder / f"{name}.key", folder / f"{name}.password"
            if cert.is_file() and key.is_file():
                credentials[name] = (cert, key)
            elif password.is_file():
                credentials[name] = password.read_text().strip()
            else:
                raise ValueError(f"--broker-identities {folder} has neither {cert.name}+{key.name} nor {password.name}")
        tls = parts.scheme == "mqtts"
        return cls(parts.hostname, parts.port or (8883 if tls else 1883), chain,
                   Path(ca_file) if tls and ca_file else None, credentials)

    def device(self, name: str) -> DeviceTopics:
        store, region = {"kiosk-1": ("s001", "south"), "kiosk-2": ("s002", "north")}[name]
        return DeviceTopics(self.chain, region, store, name)


class Peer:
    """One MQTT 5 connection as ``identity``; keeps what it receives, with properties, and its acks."""

    def __init__(self, target: Target, identity: str, *, client_id: str | None = None, clean_start: bool = True,
                 session_expiry_s: int = 0, will: tuple[str, bytes, int] | None = None,
                 max_packet_bytes: int | None = None):
        self.received: list[mqtt.MQTTMessage] = []
        self.pubacks: dict[int, int] = {}
        self.subacks: dict[int, list[int]] = {}
        self.connack: Properties | None = None
        self.session_present = False
        self.connected = threading.Event()
        self._c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                              client_id=client_id or f"conformance-{identity}-{uuid.uuid4().hex[:8]}")
        credential = target.credentials[identity]
        if isinstance(credential, str):
            self._c.username_pw_set(identity, credential)
        if target.ca_file:
            cert, key = credential if isinstance(credential, tuple) else (None, None)
            self._c.tls_set(ca_certs=str(target.ca_file), certfile=cert and str(cert), keyfile=key and str(key),
                            cert_reqs=ssl.CERT_REQUIRED)
        if will:
            topic, payload, delay_s = will
            props = Properties(PacketTypes.WILLMESSAGE)
            props.WillDelayInterval = delay_s
            self._c.will_set(topic, payload, qos=1, retain=True, properties=props)
        self._c.on_message = lambda c, u, m: self.received.append(m)
        self._c.on_publish = lambda c, u, mid, rc, p: self.pubacks.__setitem__(mid, rc.value)
        self._c.on_subscribe = lambda c, u, mid, codes, p: self.subacks.__setitem__(mid, [r.value for r in codes])
        self._c.on_connect = self._on_connect
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry_s
        if max_packet_bytes:
            props.MaximumPacketSize = max_packet_bytes
        self._c.connect(target.host, target.port, keepalive=30, clean_start=clean_start, properties=props)
        self._c.loop_start()
        assert self.connected.wait(10), f"{identity} could not connect to {target.host}:{target.port}"

    def _on_connect(self, client, userdata, flags, rc, properties) -> None:
        if not rc.is_failure:
            self.connack, self.session_present = properties, bool(flags.session_present)
            self.connected.set()

    def subscribe(self, *filters: str) -> list[int]:
        _, mid = self._c.subscribe([(f, 1) for f in filters])
        wait_for(lambda: mid in self.subacks, what="SUBACK")
        return self.subacks[mid]

    def publish(self, topic: str, payload: bytes, *, retain: bool = False,
                properties: Properties | None = None) -> int:
        """Publish at QoS 1 and return the PUBACK's reason code (0 or 16: accepted; 135: not authorised)."""
        info = self._c.publish(topic, payload, qos=1, retain=retain, properties=properties)
        wait_for(lambda: info.mid in self.pubacks, what=f"PUBACK for {topic}")
        return self.pubacks[info.mid]

    def messages(self, topic: str) -> list[mqtt.MQTTMessage]:
        return [m for m in self.received if m.topic == topic]

    def close(self) -> None:
        """A clean DISCONNECT: the broker drops the will."""
        self._c.disconnect()
        self._c.loop_stop()

    def drop(self) -> None:
        """The connection dies without a DISCONNECT (power cut, cable pulled): the will is due."""
        self._c.loop_stop()
        sock = self._c.socket()
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
