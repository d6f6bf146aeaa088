"""Profile lookup over MQTT 5 request/response.

Request, published on the device's own ``lookup/req/{store}/{device}`` with the ResponseTopic
(its own ``resp/{store}/{device}``) and CorrelationData properties, carrying the proof the shopper
gave at the device::

    {"phone_hash": "<hex>"}   # or {"qr_token": "SE1.<payload>.<signature>"}

There is no lookup by bare profile id: an id is not a proof that the shopper is there.

Response, on the requester's response topic with the same CorrelationData::

    {"status": "found", "profile": {...}, "ttl_s": 900}   # or {"status": "not_found"}
"""

from __future__ import annotations

import json

KEYS = ("phone_hash", "qr_token")


def request(key: str, value: str) -> bytes:
    if key not in KEYS:
        raise ValueError(f"lookup key must be one of {KEYS}")
    return json.dumps({key: value}).encode()


def parse_request(raw: bytes) -> tuple[str, str]:
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply to be a lookup request") from None
    for key in KEYS:
        if isinstance(doc, dict) and isinstance(doc.get(key), str):
            return key, doc[key]
    raise ValueError("lookup request carries neither phone_hash nor qr_token")


def found(profile: dict, ttl_s: int) -> bytes:
    return json.dumps({"status": "found", "profile": profile, "ttl_s": ttl_s}).encode()


def not_found(ttl_s: int = 60) -> bytes:
    return json.dumps({"status": "not_found", "ttl_s": ttl_s}).encode()


def answer_ttl(ttl_s: object, longest_s: float) -> float:
    """How long a device keeps a found profile: head office's ``ttl_s``, never longer than the device's own
    ``longest_s`` (a made-up or mistaken answer can't keep a customer on the device for years)."""
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float) or not 0 <= ttl_s < float("inf"):
        return float(longest_s)
    return float(min(ttl_s, longest_s))
