"""The till service on one store device: the desk behind both doors (HTTP and MQTT)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sync.agent import SyncAgent
from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.config import PosSection

from .desk import Desk, answer
from .http import DEFAULT_OPTIONS, MAX_BODY_BYTES, PosServer


class PosService:
    """Opens its own cache connection (the agent keeps its own), serves HTTP, and answers the
    store's MQTT redemption topic through the agent's I/O thread. The desk goes by the agent's clock.

    Over HTTP, ``tills`` (till id -> key) are the tills admitted; over MQTT, the broker's ACL admits them
    (``kind = till`` in the device list). The endpoint's counters go into the agent's health report."""

    def __init__(self, agent: SyncAgent, coupon_key: bytes, tills: Mapping[str, bytes], *, host: str = "127.0.0.1",
                 port: int = 0, options: PosSection = DEFAULT_OPTIONS):
        self.cache = Cache(agent.cache_path)
        outbox = Outbox(self.cache, boot_id=agent.boot_id, device=agent.topics.device, store=agent.topics.store,
                        clock=agent.clock)
        self.desk = Desk(self.cache, outbox, store=agent.topics.store, coupon_key=coupon_key, clock=agent.clock)
        self.http = PosServer(self.desk, tills, host, port, options=options)
        agent.serve(agent.topics.pos_redeem, self._over_mqtt)
        agent.add_health(lambda: {"pos": self.http.counts()})

    def _over_mqtt(self, payload: bytes) -> bytes:
        if len(payload) > MAX_BODY_BYTES:
            status, body = 413, {"error": "too_large", "message": f"at most {MAX_BODY_BYTES} bytes"}
        else:
            status, body = answer(self.desk, payload)
        return json.dumps({"status": status, **body}, ensure_ascii=False).encode()

    def start(self) -> PosService:
        self.http.start()
        return self

    def stop(self) -> None:
        self.http.stop()
        self.cache.close()

