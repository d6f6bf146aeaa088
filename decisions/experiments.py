"""Deterministic experiment assignment: the same shopper gets the same arm on every device.

bucket = sha256(salt + ":" + profile_id) mod 10,000; buckets [0, holdout) are the holdout,
then each arm takes its share in the order the playbook lists them (Braze-style global
control groups use the same 0..9999 range).
"""

from __future__ import annotations

import hashlib

from .playbook import Experiment

BUCKETS = 10_000
HOLDOUT = "holdout"


def bucket(salt: str, profile_id: str) -> int:
    digest = hashlib.sha256(f"{salt}:{profile_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(experiment: Experiment, profile_id: str) -> str:
    """The arm (a variant id, 'default', or 'holdout') for one shopper."""
    b = bucket(experiment.salt, profile_id)
    edge = experiment.holdout_pct * BUCKETS / 100
    if b < edge:
        return HOLDOUT
    for arm, pct in experiment.arms:
        edge += pct * BUCKETS / 100
        if b < edge:
            return arm
    return experiment.arms[-1][0]  # float rounding at the top edge
