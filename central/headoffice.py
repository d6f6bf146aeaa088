"""Head office's actions that touch both the store and the stores: each a few lines over the modules.

A :class:`HeadOffice` holds the central store, the signing keys, one broker connection and the
clock it was given; the command line and the workers use it.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from sync.clock import Clock
from sync.protocol import topics
from sync.protocol.overrides import Override, sign_override

from . import audit, content_files, drafts, jobs, partitions, privacy_requests, publishing
from . import overrides as overrides_mod
from .config import CentralConfig
from .db import Database
from .deltas import digest, send_delta
from .erasure import Erasure, erase_profile, erasure_targets
from .keys import Keyring
from .merge import Merge, merge_profiles
from .mqtt import BrokerLink
from .profiles import wire_profile, wire_profiles
from .selection import choose_customers

log = logging.getLogger("store_edge.central")


@dataclass(frozen=True)
class StoreSync:
    store: str
    upserted: int
    to_evict: int  # held but no longer chosen: dropped by the store's next bundle snapshot


class HeadOffice:
    def __init__(self, config: CentralConfig, db: Database, keys: Keyring, link: BrokerLink | None, *,
                 clock: Clock):
        self.config, self.db, self.keys, self.link, self.clock = config, db, keys, link, clock
        self.chain = config.central.chain

    # --- customers ---------------------------------------------------------------------------
    def erase(self, profile_id: str, *, requested_by: str, request_ids: list[int] = ()) -> Erasure | None:
        """Erase a customer here, send the erase delta to every store that holds them and republish every
        retained bundle that held them; only then is it done. None if nobody by that id (what an earlier
        erasure left retained is republished all the same). ``request_ids``: the privacy requests it answers
        (``central.privacy_requests``); they close when every store has confirmed."""
        now = self.clock.time()
        # The stores are told first: if the broker fails here, nothing is erased yet and erase can run again.
        ids, told = erasure_targets(self.db, profile_id) or ([], [])
        self._send_erase(told, ids, now)
        erasure = erase_profile(self.db, profile_id, requested_by=requested_by, now=now, told=told)
        if erasure is not None:
            self._send_erase(sorted(set(erasure.stores) - set(told)), list(erasure.profile_ids), now)  # looked up since
        c = self.config.central
        sent, removed = publishing.republish_erased(self.db, self.link, self.keys.active, self.chain,
                                                    http_dir=Path(c.http_dir), base_url=self.config.base_url,
                                                    max_inline_bytes=c.max_inline_bytes, now=now)
        if not self.db.checkpoint():
            log.warning("erasure: a reader held back the WAL checkpoint; the next erasure tries again")
        republished = tuple((topics.bundle_topic(self.chain, m["scope"]), m["version"]) for m in sent)
        if erasure is None:
            if sent or removed:
                log.info("no profile %r; %d retained bundle(s) and %d bundle file(s) still held erased customers:"
                         " republished and removed", profile_id, len(sent), len(removed))
            return None
        privacy_requests.note_republished(self.db, erasure.erasure_id, republished, tuple(map(str, removed)))
        if request_ids:
            privacy_requests.erasure_done(self.db, list(request_ids), erasure.erasure_id, now=now)
        log.info("erasure asked for by %s done: %d profile(s), %d event(s) anonymised, %d store(s) told,"
                 " %d retained bundle(s) republished, %d bundle file(s) removed", requested_by,
                 len(erasure.profile_ids), erasure.events_anonymised, len(erasure.stores), len(republished),
                 len(removed))
        return dataclasses.replace(erasure, republished=republished, files_removed=tuple(map(str, removed)))

    def _send_erase(self, stores: list[str], profile_ids: list[str], now: float) -> None:
        for store in stores:
            send_delta(self.db, self.link, self.keys.active, self.chain, store, delete=profile_ids, now=now)

    def merge(self, a: str, b: str) -> Merge:
        now = self.clock.time()
        merged = merge_profiles(self.db, a, b, now=now)
        winner = wire_profile(self.db, merged.winner)
        for store in merged.stores:
            send_delta(self.db, self.link, self.keys.active, self.chain, store, upsert=[winner],
                       delete=[merged.loser], now=now)
        return merged

    def chosen_profiles(self, store: str) -> list[dict]:
        """The customers ``store`` should hold now, as devices get them."""
        c = self.config.central
        return wire_profiles(self.db, choose_customers(self.db, store, now=self.clock.time(), days=c.select_days,
                                                       top=c.select_top))

    def sync_store(self, store: str) -> StoreSync:
        """Send a store the profile deltas that bring its cache up to date with the chosen customers.

        Deltas only add and update: a delta that deletes a profile is an erasure on the device (it
        purges the customer's consents and unsent events), so customers who are no longer chosen
        leave with the store's next bundle snapshot, whose ``profiles`` section replaces the scope's.
        """
        chosen = self.chosen_profiles(store)
        held = dict(self.db.execute("SELECT profile_id, digest FROM store_cache WHERE store = ?", (store,)))
        upsert = [p for p in chosen if held.get(p["profile_id"]) != digest(p)]
        send_delta(self.db, self.link, self.keys.active, self.chain, store, upsert=upsert, now=self.clock.time())
        return StoreSync(store, len(upsert), len(set(held) - {p["profile_id"] for p in chosen}))

    def run_jobs(self, *, force: bool = False) -> jobs.JobResult:
        """Event partitions ahead and retention (``central.partitions``), RFM and co-purchase (skipped when
        nothing is new), then profile deltas to every store: new visits change who a store should hold even
        when the jobs had nothing to do. Deltas carry only changes."""
        c = self.config.central
        partitions.maintain(self.db, now=self.clock.time(), ahead=c.events_months_ahead,
                            retention_months=c.events_retention_months)
        result = jobs.run(self.db, now=self.clock.time(), force=force)
        for (store,) in self.db.execute("SELECT DISTINCT store FROM profile_stores ORDER BY store"):
            self.sync_store(store)
        return result

    # --- content -----------------------------------------------------------------------------
    def load_content(self, *, waiting: bool = True) -> tuple[list[content_files.Store],
                                                              dict[str, content_files.ScopeContent]]:
        """The stores and every scope's content as the next publish sends it: the files with the drafts (without the
        ready ones no publication took yet: ``waiting=False``)."""
        return drafts.draft_content(self.db, Path(self.config.central.content_dir), self.config.base_url,
                                    waiting=waiting)

    def plan_content(self, scopes: list[str] | None = None, *, force: bool = False,
                     waiting: bool = True) -> list[publishing.Planned]:
        stores, tree = self.load_content(waiting=waiting)
        return publishing.plan(self.db, tree, scopes=scopes, force=force, stores=[s.store for s in stores],
                               store_profiles=self.chosen_profiles, identities={s.store: s.identity() for s in stores})

    def publish_content(self, scopes: list[str] | None = None, *, force: bool = False) -> list[dict]:
        """What is live, sent outside the pipeline (a store page's change, the demo's start): the drafts waiting for
        a publication stay out, so that none skips the pipeline's approval and pilot."""
        return self.publish_plans(self.plan_content(scopes, force=force, waiting=False))

    def publish_plans(self, plans: list[publishing.Planned]) -> list[dict]:
        return publishing.publish(self.db, self.link, self.keys.active, self.chain, plans,
                                  http_dir=Path(self.config.central.http_dir), base_url=self.config.base_url,
                                  max_inline_bytes=self.config.central.max_inline_bytes, now=self.clock.time())

    # --- emergency override ------------------------------------------------------------------
    def start_override(self, draft: overrides_mod.Draft, *, actor: str, client: str) -> Override:
        """Sign and publish a checked override (``central.overrides.draft``) and put it in the audit log."""
        now = self.clock.time()
        override = Override(self.chain, draft.scope, draft.override_id, now, now + draft.expires_in_s, "start",
                            message=draft.message, playlist=draft.playlist)
        self.override(override)
        title = (draft.message or {}).get("title") or f"playlist {draft.playlist}"
        audit.record(self.db, at=now, actor=actor, action="override.start", scope=draft.scope,
                     detail=f"{override.override_id}: {title!r} for {overrides_mod.in_words(draft.expires_in_s)}",
                     client=client)
        return override

    def end_override(self, override_id: str, *, actor: str, client: str) -> Override:
        """End an override that is on now; OverrideError when there is no such override or it is over."""
        now = self.clock.time()
        sent = overrides_mod.end_check(self.db, override_id, now)
        override = Override(self.chain, sent.scope, override_id, now, now + 60, "end")
        self.override(override)
        audit.record(self.db, at=now, actor=actor, action="override.end", scope=sent.scope, detail=override_id,
                     client=client)
        return override

    def override(self, override: Override) -> bytes:
        """Sign and publish an override (``start`` or ``end``), retained on its scope."""
        payload = sign_override(override, self.keys.active)
        self.link.publish(topics.override_topic(self.chain, override.scope), payload, retain=True)
        self.db.execute("INSERT INTO overrides (override_id, scope, action, issued_at, expires_at, body)"
                        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (override.override_id, override.scope, override.action, override.issued_at,
                         override.expires_at, payload.decode()))
        return payload
