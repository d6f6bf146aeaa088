"""Head office asks one device to do something (reload, report_health, identify, screenshot) and waits for the
answer: the command protocol of ``sync/agent/commands.py`` from the other end.

The request goes to ``cmd/{store}/{device}`` with the device's ``cmdresp/{store}/{device}`` as its MQTT 5
ResponseTopic (the only reply topic the broker's ACL lets a device write) and fresh CorrelationData, and an
``expires_at`` so a device that gets it late does not run it. An answer counts only when it comes on the topic
of the device asked, with that correlation: a device cannot answer for another. Answers are parsed with a
size and depth limit; anything else is a failure in words, never an exception to the caller.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt

from sync.agent.connection import request_properties
from sync.clock import Clock
from sync.config import BrokerSection
from sync.protocol import topics

from .mqtt import BrokerLink

log = logging.getLogger("store_edge.central")
COMMANDS = ("reload", "report_health", "identify", "screenshot")
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a screenshot 1920 wide as base64 fits; anything bigger is refused
MAX_DEPTH = 16
EXCEPTION_NAME = re.compile(r"^[A-Z]\w*(?:Error|Exception): ")  # the agent prefixes its reasons with one


@dataclass(frozen=True)
class CommandResult:
    status: str  # answered | failed | timed out
    detail: str  # in words: what the device said, or why there is no answer
    result: dict = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.status == "answered"


def _depth(value: object, limit: int) -> bool:
    """True when ``value`` nests no deeper than ``limit``."""
    if limit < 0:
        return False
    if isinstance(value, dict):
        return all(_depth(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth(v, limit - 1) for v in value)
    return True


def parse_answer(payload: bytes) -> CommandResult:
    """A device's answer, checked: ``{"ok": true, "result": {...}}`` or ``{"ok": false, "error": "..."}``."""
    if len(payload) > MAX_ANSWER_BYTES:
        return CommandResult("failed", f"the answer was {len(payload):,} bytes, over {MAX_ANSWER_BYTES:,}")
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return CommandResult("failed", "the answer was not JSON")
    if not isinstance(doc, dict) or not isinstance(doc.get("ok"), bool) or not _depth(doc, MAX_DEPTH):
        return CommandResult("failed", "the answer was not a command answer")
    if not doc["ok"]:
        reason = str(doc.get("error") or "the device gave no reason")
        return CommandResult("failed", EXCEPTION_NAME.sub("", reason)[:500])
    result = doc.get("result")
    return CommandResult("answered", "done", result if isinstance(result, dict) else {"value": result})


class DeviceCommands:
    """One broker connection for head office's commands; ``send`` may be called from many threads at once."""

    def __init__(self, broker: BrokerSection, chain: str, client_id: str, *, clock: Clock):
        self.chain, self.clock = chain, clock
        self._waiting: dict[bytes, tuple[str, Future]] = {}  # correlation -> (the reply topic expected, answer)
        self._lock = threading.Lock()
        self.link = BrokerLink(broker, client_id, subscriptions=[(topics.command_reply_filter(chain), 1)],
                               on_message=self._answer, session_expiry_s=0)
        self._started = False

    def start(self) -> DeviceCommands:
        with self._lock:
            if not self._started:
                self.link.start()
                self._started = True
        return self

    def stop(self) -> None:
        with self._lock:
            if self._started:
                self.link.stop()
                self._started = False

    def send(self, store: str, device: str, command: str, args: dict | None = None, *,
             timeout_s: float = 10.0) -> CommandResult:
        """Send ``command`` to ``store``/``device`` and wait up to ``timeout_s`` for its answer."""
        if command not in COMMANDS:
            return CommandResult("failed", f"{command!r} is not one of {', '.join(COMMANDS)}")
        correlation = os.urandom(16)
        reply_topic = topics.command_reply_topic(self.chain, store, device)
        answer: Future = Future()
        with self._lock:
            self._waiting[correlation] = (reply_topic, answer)
        try:
            try:
                self.start()
                body = {"command": command, "args": args or {}, "expires_at": self.clock.time() + timeout_s}
                self.link.publish(topics.command_topic(self.chain, store, device), json.dumps(body).encode(),
                                  properties=request_properties(reply_topic, correlation))
            except (ConnectionError, OSError) as exc:
                return CommandResult("failed", f"not sent: {exc}")
            try:
                return answer.result(timeout_s)
            except FutureTimeout:
                return CommandResult("timed out", f"no answer from {device} within {timeout_s:g} s")
        finally:
            with self._lock:
                self._waiting.pop(correlation, None)

    def _answer(self, msg: mqtt.MQTTMessage) -> None:
        correlation = getattr(msg.properties, "CorrelationData", None)
        with self._lock:
            expected = self._waiting.get(correlation) if isinstance(correlation, bytes) else None
        if expected is None:
            return  # late, or not ours
        reply_topic, answer = expected
        if msg.topic != reply_topic:
            log.warning("command answer on %s for a command sent to %s ignored", msg.topic, reply_topic)
            return
        if not answer.done():
            answer.set_result(parse_answer(msg.payload))
