"""Profile lookup over MQTT 5 request/response.

Request, published on ``lookup/req`` with the ResponseTopic and CorrelationData properties::

    {"store": "s001", "device": "kiosk-1", "phone_hash": "<hex>"}   # or "profile_id": "..."

Response, on the requester's response topic with the same CorrelationData::

    {"status": "found", "profile": {...}, "ttl_s": 900}   # or {"status": "not_found"}
"""

from __future__ import annotations

import json

KEYS = ("phone_hash", "profile_id")


def request(store: str, device: str, key: str, value: str) -> bytes:
    if key not in KEYS:
        raise ValueError(f"lookup key must be one of {KEYS}")
    return json.dumps({"store": store, "device": device, key: value}).encode()


def parse_request(raw: bytes) -> tuple[str, str]:
    doc = json.loads(raw)
    for key in KEYS:
        if isinstance(doc, dict) and isinstance(doc.get(key), str):
            return key, doc[key]
    raise ValueError("lookup request names neither phone_hash nor profile_id")


def found(profile: dict, ttl_s: int) -> bytes:
    return json.dumps({"status": "found", "profile": profile, "ttl_s": ttl_s}).encode()


def not_found(ttl_s: int = 60) -> bytes:
    return json.dumps({"status": "not_found", "ttl_s": ttl_s}).encode()
