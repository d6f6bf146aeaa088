"""Consent by purpose, from the append-only ledger.

Head office's view arrives on the profile (``profile["consents"]``, purpose -> status); the
device's own ledger rows are newer and win, latest row per purpose. Anything but an explicit,
current ``granted`` means no.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PURPOSES = ("personal_offers", "e_receipt", "marketing")


def current_consents(profile: Mapping | None, ledger: Iterable[Mapping]) -> dict[str, str]:
    """purpose -> 'granted' | 'denied' | 'withdrawn' | 'unknown'."""
    state = {p: "unknown" for p in PURPOSES}
    if profile:
        for purpose, status in (profile.get("consents") or {}).items():
            if purpose in state and status in ("granted", "denied", "withdrawn"):
                state[purpose] = status
    for row in ledger:  # in ledger order: the last word per purpose stands
        if row["purpose"] in state:
            state[row["purpose"]] = row["status"]
    return state


def may_personalise(consents: Mapping[str, str]) -> bool:
    return consents.get("personal_offers") == "granted"
