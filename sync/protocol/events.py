"""The event envelope that every device event travels in, and UUIDv7 ids."""

from __future__ import annotations

import json
import os

EVENT_TYPES = frozenset({
    "identified", "consent_given", "consent_withdrawn", "offer_shown", "offer_held_out", "offer_sent_to_phone",
    "redeemed", "sale", "assisted_sale", "proof_of_play", "health", "erasure", "lookup_miss", "command_result",
    "playback_error", "content_rejected", "erasure_applied", "override_shown",
})


def uuid7(unix_ms: int) -> str:
    """RFC 9562 UUIDv7: the 48-bit ms timestamp ``unix_ms``, then random bits. Sorts by creation time."""
    rand = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    h = f"{value:032x}"  # what str(uuid.UUID(int=value)) gives, in 1.5 µs, not 2.6: every device event takes one
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def envelope(
    *, event_id: str, seq: int, type: str, boot_id: str, device: str, store: str,
    wall_time: float, mono_time: float, payload: str,
) -> bytes:
    """One event as it goes on the wire. ``payload`` is already JSON text (as stored in the outbox)."""
    head = json.dumps(
        {"id": event_id, "seq": seq, "type": type, "boot_id": boot_id, "device": device, "store": store,
         "wall_time": wall_time, "mono_time": mono_time},
        separators=(",", ":"),
    )
    return (head[:-1] + ',"payload":' + payload + "}").encode()


def batch(envelopes: list[bytes]) -> bytes:
    """One MQTT message carries a JSON array of envelopes: one PUBACK then covers many events."""
    return b"[" + b",".join(envelopes) + b"]"


def parse_batch(raw: bytes) -> list[dict]:
    """Decode a message from an events topic (an array of envelopes, or one); raise ValueError if malformed."""
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply to be an event") from None
    docs = doc if isinstance(doc, list) else [doc]
    for event in docs:
        check(event)
    return docs


def check(doc: object) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not isinstance(doc.get("seq"), int):
        raise ValueError("not an event envelope")
    if doc.get("type") not in EVENT_TYPES:
        raise ValueError(f"unknown event type {doc.get('type')!r}")
