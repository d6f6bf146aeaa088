"""Deterministic experiment assignment: the same shopper gets the same arm on every device.

bucket = sha256(salt + ":" + profile_id) mod 10,000; buckets [0, holdout) are the holdout,
then each arm takes its share in the order the playbook lists them (Braze-style global
control groups use the same 0..9999 range).

The chain-wide **global holdout** uses the same buckets with the chain's own salt: the customers in its share get
no personal offers anywhere, so that head office can measure the whole programme's lift against them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from .conditions import PlaybookError
from .playbook import Experiment

MAX_GLOBAL_HOLDOUT_PCT = 50.0  # more than half of the customers held out measures nothing useful

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


@dataclass(frozen=True)
class GlobalHoldout:
    share_pct: float  # of the customers, 0 to 50
    salt: str

    @classmethod
    def from_raw(cls, raw: Mapping | None) -> GlobalHoldout | None:
        """The chain's setting as head office sends it (``{"share_pct": 5, "salt": "..."}``); None when there is none.
        PlaybookError naming the field when a device could not apply it."""
        if raw is None:
            return None
        share, salt = raw.get("share_pct"), raw.get("salt")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= MAX_GLOBAL_HOLDOUT_PCT:
            raise PlaybookError(f"global holdout: share_pct: must be a number from 0 to {MAX_GLOBAL_HOLDOUT_PCT:.0f}")
        if not isinstance(salt, str) or not salt.strip() or len(salt) > 64:
            raise PlaybookError("global holdout: salt: must be a word of 1 to 64 characters")
        return cls(float(share), salt)

    def holds(self, profile_id: str | None) -> bool:
        """This customer gets no personal offers; an anonymous shopper is never held out (nothing is personal)."""
        return profile_id is not None and bucket(self.salt, profile_id) < self.share_pct * BUCKETS / 100


def held_out(holdout: GlobalHoldout | None, profile_id: str | None) -> bool:
    """The chain's global holdout, if it has one, holds this customer: decide for them as for anyone."""
    return holdout is not None and holdout.holds(profile_id)
