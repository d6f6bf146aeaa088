"""Head office's MQTT connection: one paho client, MQTT 5, a persistent session under a stable id.

Publishing waits for the broker's PUBACK, so a command that returns has handed its message to the
broker. Subscriptions are made again on every (re)connect; paho reconnects by itself.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt

from sync.agent.connection import connect_properties
from sync.config import BrokerSection

log = logging.getLogger("store_edge.central")


class BrokerLink:
    def __init__(self, broker: BrokerSection, client_id: str, *, subscriptions: list[tuple[str, int]] = (),
                 on_message: Callable[[mqtt.MQTTMessage], None] | None = None, session_expiry_s: int = 3600):
        self.broker = broker
        self.subscriptions = list(subscriptions)
        self.session_expiry_s = session_expiry_s
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id=client_id)
        self.client.max_inflight_messages_set(200)
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password or None)
        if broker.tls:
            self.client.tls_set(ca_certs=broker.ca_file or None, certfile=broker.cert_file or None,
                                keyfile=broker.key_file or None, cert_reqs=ssl.CERT_REQUIRED)
        self._on_message = on_message
        self.client.on_connect = self._connected
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._message

    def start(self, timeout: float = 10.0) -> BrokerLink:
        self.client.connect(self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s, clean_start=False,
                            properties=connect_properties(self.session_expiry_s))
        self.client.loop_start()
        if not self.connected.wait(timeout):
            self.client.loop_stop()
            raise ConnectionError(f"broker {self.broker.host}:{self.broker.port} unreachable")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1, properties=None,
                wait: bool = True) -> mqtt.MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        if wait and qos:
            info.wait_for_publish(30)
            if not info.is_published():
                raise ConnectionError(f"no PUBACK from the broker for {topic}")
        return info

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused head office: %s", reason_code)
            return
        if self.subscriptions:
            client.subscribe(self.subscriptions)
        self.connected.set()

    def _message(self, client, userdata, msg) -> None:
        try:
            if self._on_message:
                self._on_message(msg)
        except Exception:  # an exception here would kill paho's loop thread
            log.exception("central: error handling %s", msg.topic)
