"""What both ends say about an erasure once a device has carried it out.

A device that applies an erase delta (a ``delete.profiles`` section from head office) records one
``erasure_applied`` event in the same transaction as the purge::

    {"subjects": ["<sha256 hex of each erased profile id>", ...]}

The ids themselves are gone from the device by then and never travel again: head office keeps the
same hashes (``erased_subjects``) and matches them to its erasure. Which store and device confirmed
comes from the event's topic, as for every event, never from this payload.
"""

from __future__ import annotations

import hashlib
import re

MAX_SUBJECTS = 2000  # a delta deletes at most 1,000 ids (central.deltas); more is not from a real device
_HEX64 = re.compile(r"[0-9a-f]{64}")


def subject_hash(profile_id: str) -> str:
    """The erased person as both ends may name them afterwards: sha256 of the profile id, in hex."""
    return hashlib.sha256(profile_id.encode()).hexdigest()


def applied_payload(profile_ids: list[str]) -> dict:
    return {"subjects": [subject_hash(p) for p in profile_ids]}


def applied_subjects(payload: object) -> list[str]:
    """The subject hashes of an ``erasure_applied`` payload; ValueError when it is not one."""
    subjects = payload.get("subjects") if isinstance(payload, dict) else None
    if not isinstance(subjects, list) or not 0 < len(subjects) <= MAX_SUBJECTS:
        raise ValueError(f"erasure_applied needs 'subjects', a list of 1 to {MAX_SUBJECTS} hashes")
    if not all(isinstance(s, str) and _HEX64.fullmatch(s) for s in subjects):
        raise ValueError("erasure_applied subjects are sha256 hashes in lower-case hex")
    return list(dict.fromkeys(subjects))
