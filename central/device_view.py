"""What one device would hold if head office published now: the bundles of its scopes (chain, region, store,
device), each built by ``publishing.plan`` as ``publish`` builds it, from the publishing pipeline's own input
(``drafts.draft_content``): what is live, or with the marketers' ready drafts of every kind (offers, signage) that
no publication took yet. For the console's preview, which applies them to a throwaway device cache; customers'
profiles are left out (the preview shows an anonymous shopper)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sync.protocol.content import validate

from . import drafts as draft_kinds
from . import publishing
from .config import CentralConfig
from .content_files import Store
from .db import Database


@dataclass(frozen=True)
class DeviceView:
    store: Store
    device: str  # empty: the store's own view (a store that lists no device)
    bundles: list[tuple[str, dict]]  # (scope, content), least specific first, as the device applies them
    media: dict[str, Path] = field(default_factory=dict)  # sha256 -> head office's file


def device_view(config: CentralConfig, db: Database, store: Store, device: str, *, drafts: bool) -> DeviceView:
    """ContentProblem when head office's files cannot be read or a device would refuse them."""
    _, tree = draft_kinds.draft_content(db, Path(config.central.content_dir), config.base_url, waiting=drafts)
    scopes = ["chain", f"region/{store.region}", f"store/{store.store}", *([f"device/{device}"] if device else [])]
    plans = {p.scope: p for p in publishing.plan(db, tree, scopes=scopes, force=True, stores=[store.store],
                                                 identities={store.store: store.identity()})}
    bundles, media = [], {}
    for scope in scopes:
        if scope in plans:
            bundles.append((scope, validate(plans[scope].content)))
            media |= plans[scope].media
    return DeviceView(store, device, bundles, media)
