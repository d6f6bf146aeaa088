"""The central store's tables, and forward-only migrations for SQLite and PostgreSQL.

``schema_version`` holds the number of migrations applied. A migration is a list of steps: a
statement in the shared dialect (``{serial}`` becomes the backend's auto-numbered primary key), an
:class:`Only` holding steps for one backend where the two differ in more than a word (the
partitioned ``events`` table exists on PostgreSQL only), or a function of the database for what
depends on the rows already there. Migrations run at open, inside one transaction, under an
advisory lock on PostgreSQL so that workers starting together do not race. A database written by
newer software is refused.

JSON columns are TEXT on both backends: the service reads them whole, never queries inside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import partitions, rollups
from .db import Database

EVENT_COLUMNS = "id, store, device, seq, type, wall_time, received_at, profile_id, body"
# wall_time 0 is "no time of its own" (central.ingest.stored_wall_time): a key column cannot be NULL.
EVENTS_FROM_OLD = (f"INSERT INTO events ({EVENT_COLUMNS}) SELECT id, store, device, seq, type, coalesce(wall_time, 0),"
                   " received_at, profile_id, body FROM events_unpartitioned")
EVENT_INDEXES = ("CREATE INDEX events_type ON events (type, wall_time)",
                 "CREATE INDEX events_profile ON events (profile_id)")


@dataclass(frozen=True)
class Only:
    """Steps for one backend ('sqlite' or 'postgres')."""

    backend: str
    steps: tuple[str | Callable[[Database], None], ...]


Step = str | Only | Callable[[Database], None]


def _month_partitions_for_rows(db: Database) -> None:
    """A partition for every month the moved rows' wall_time spans, within a year before the first
    event head office received and two months after the last; rows outside go to the default partition."""
    first, last = db.query_one("SELECT min(received_at), max(received_at) FROM events_unpartitioned")
    if first is None:
        return
    lo, hi = db.query_one("SELECT min(wall_time), max(wall_time) FROM events_unpartitioned"
                          " WHERE wall_time >= ? AND wall_time <= ?", (first - 366 * 86400.0, last + 62 * 86400.0))
    if lo is None:
        return
    month, end = partitions.month_start(lo), partitions.month_start(hi)
    while month <= end:
        partitions.create_month(db, month)
        month = partitions.shift(month, 1)


def _same_rows_moved(db: Database) -> None:
    old = db.scalar("SELECT count(*) FROM events_unpartitioned")
    new = db.scalar("SELECT count(*) FROM events")
    if old != new:
        raise RuntimeError(f"migration 9 moved {new} of {old} events; nothing was changed")


def _fill_rollups(db: Database) -> None:
    rollups.rebuild(db)


MIGRATIONS: list[list[Step]] = [
    [  # 1: the first schema
        """CREATE TABLE profiles (
            profile_id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
            first_name TEXT, phone_hash TEXT, loyalty_id TEXT, segments TEXT, rfm TEXT, purchase_summary TEXT,
            attributes TEXT, last_visit DOUBLE PRECISION, merged_into TEXT, merged_at DOUBLE PRECISION,
            merged_snapshot TEXT)""",
        # kind: profile_id (its own id, and the ids of profiles merged into it), phone_hash, loyalty_id, qr_token
        """CREATE TABLE aliases (kind TEXT NOT NULL, value TEXT NOT NULL, profile_id TEXT NOT NULL,
            PRIMARY KEY (kind, value))""",
        "CREATE INDEX aliases_profile ON aliases (profile_id)",
        """CREATE TABLE consents (id {serial}, profile_id TEXT NOT NULL, purpose TEXT NOT NULL,
            status TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, wording_version TEXT, channel TEXT, store TEXT,
            source TEXT NOT NULL)""",
        "CREATE INDEX consents_profile ON consents (profile_id, purpose, id)",
        """CREATE TABLE qr_tokens (token_id TEXT PRIMARY KEY, profile_id TEXT NOT NULL, key_id TEXT NOT NULL,
            issued_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX qr_tokens_profile ON qr_tokens (profile_id)",
        # No personal data: when, how much, and a hash of the id so late events from offline devices are anonymised.
        """CREATE TABLE erasures (id {serial}, erased_at DOUBLE PRECISION NOT NULL, profiles INTEGER NOT NULL,
            events_anonymised INTEGER NOT NULL, stores_notified INTEGER NOT NULL, requested_by TEXT NOT NULL)""",
        "CREATE TABLE erased_subjects (subject_hash TEXT PRIMARY KEY, erased_at DOUBLE PRECISION NOT NULL)",
        """CREATE TABLE events (id TEXT PRIMARY KEY, store TEXT, device TEXT, seq BIGINT, type TEXT NOT NULL,
            wall_time DOUBLE PRECISION, received_at DOUBLE PRECISION NOT NULL, profile_id TEXT, body TEXT NOT NULL)""",
        "CREATE INDEX events_type ON events (type, wall_time)",
        "CREATE INDEX events_profile ON events (profile_id)",
        """CREATE TABLE basket_lines (line_id TEXT PRIMARY KEY, basket_id TEXT NOT NULL, profile_id TEXT,
            sku TEXT NOT NULL, qty INTEGER NOT NULL, amount_cents BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL,
            store TEXT)""",
        "CREATE INDEX basket_lines_profile ON basket_lines (profile_id)",
        "CREATE INDEX basket_lines_basket ON basket_lines (basket_id)",
        # Baskets not yet counted into item_counts / pair_counts: the co-purchase job's work queue.
        "CREATE TABLE basket_queue (basket_id TEXT PRIMARY KEY)",
        """CREATE TABLE profile_stores (profile_id TEXT NOT NULL, store TEXT NOT NULL,
            first_seen DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL, visits INTEGER NOT NULL,
            PRIMARY KEY (profile_id, store))""",
        "CREATE INDEX profile_stores_store ON profile_stores (store, last_seen)",
        # What each store holds, so an erasure reaches every store that cached the profile.
        """CREATE TABLE store_cache (store TEXT NOT NULL, profile_id TEXT NOT NULL, digest TEXT NOT NULL,
            sent_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (store, profile_id))""",
        "CREATE INDEX store_cache_profile ON store_cache (profile_id)",
        """CREATE TABLE proof_of_play (event_id TEXT PRIMARY KEY, store TEXT, device TEXT, item TEXT NOT NULL,
            day TEXT NOT NULL, duration_s DOUBLE PRECISION)""",
        "CREATE INDEX proof_of_play_day ON proof_of_play (day, item)",
        """CREATE TABLE devices (store TEXT NOT NULL, device TEXT NOT NULL, state TEXT, boot_id TEXT,
            presence_at DOUBLE PRECISION, last_seen DOUBLE PRECISION, health TEXT, health_at DOUBLE PRECISION,
            last_error TEXT, last_error_at DOUBLE PRECISION, PRIMARY KEY (store, device))""",
        "CREATE TABLE streams (stream TEXT PRIMARY KEY, version BIGINT NOT NULL, sha256 TEXT)",
        """CREATE TABLE bundles (scope TEXT NOT NULL, version BIGINT NOT NULL, sha256 TEXT NOT NULL,
            size BIGINT NOT NULL, url TEXT, published_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (scope, version))""",
        "CREATE TABLE offer_skus (offer TEXT PRIMARY KEY, sku TEXT)",
        "CREATE TABLE item_counts (sku TEXT PRIMARY KEY, n BIGINT NOT NULL)",
        "CREATE TABLE pair_counts (a TEXT NOT NULL, b TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (a, b))",
        "CREATE TABLE co_purchase (a TEXT NOT NULL, b TEXT NOT NULL, score DOUBLE PRECISION NOT NULL,"
        " n BIGINT NOT NULL, PRIMARY KEY (a, b))",
        "CREATE TABLE jobs (name TEXT PRIMARY KEY, watermark BIGINT NOT NULL, ran_at DOUBLE PRECISION NOT NULL)",
        """CREATE TABLE overrides (override_id TEXT NOT NULL, scope TEXT NOT NULL, action TEXT NOT NULL,
            issued_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL, body TEXT NOT NULL,
            PRIMARY KEY (override_id, scope, action))""",
    ],
    [  # 2: a profile that has absorbed others keeps its own fields, so a later merge can apply the rules afresh
        "ALTER TABLE profiles ADD COLUMN own_fields TEXT",
    ],
    [  # 3: what head office refused from each device (forged events, lookups), for the fleet view
        """CREATE TABLE device_refusals (store TEXT NOT NULL, device TEXT NOT NULL, reason TEXT NOT NULL,
            count BIGINT NOT NULL, last_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (store, device, reason))""",
    ],
    [  # 4: a retained bundle's content while it holds customers, so an erasure can republish it without them
        "ALTER TABLE streams ADD COLUMN content TEXT",
    ],
    [  # 5: the console's people (central/users.py) and its append-only audit log (central/audit.py)
        """CREATE TABLE console_users (username TEXT PRIMARY KEY, role TEXT NOT NULL, stores TEXT NOT NULL,
            password_hash TEXT NOT NULL, active INTEGER NOT NULL, failures INTEGER NOT NULL,
            locked_until DOUBLE PRECISION NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
        """CREATE TABLE audit_log (id {serial}, at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL,
            action TEXT NOT NULL, scope TEXT NOT NULL, detail TEXT NOT NULL, client TEXT NOT NULL)""",
        "CREATE INDEX audit_log_at ON audit_log (at)",
    ],
    [  # 6: the fleet view tells the truth: content a device refused, and how often it started again or crashed
        "ALTER TABLE devices ADD COLUMN rejected TEXT",  # the last content_rejected payload: scope, version, reasons
        "ALTER TABLE devices ADD COLUMN rejected_at DOUBLE PRECISION",
        "ALTER TABLE devices ADD COLUMN boots BIGINT",  # boot ids seen online
        "ALTER TABLE devices ADD COLUMN crashes BIGINT",  # boots that ended without saying 'offline' themselves
        "ALTER TABLE devices ADD COLUMN clean_stop INTEGER",  # the current boot said 'offline' itself
    ],
    [  # 7: the privacy desk (central/privacy_requests.py): requests with due dates, and each erasure's receipt
        """CREATE TABLE privacy_requests (id {serial}, kind TEXT NOT NULL, profile_id TEXT, jurisdiction TEXT NOT NULL,
            received_on TEXT NOT NULL, due_on TEXT NOT NULL, recorded_at DOUBLE PRECISION NOT NULL,
            recorded_by TEXT NOT NULL, erasure_id BIGINT, closed_at DOUBLE PRECISION, answer TEXT)""",
        "CREATE INDEX privacy_requests_open ON privacy_requests (closed_at, due_on)",
        "CREATE INDEX privacy_requests_profile ON privacy_requests (profile_id)",
        # Where an erasure went: the stores sent the erase delta, the retained bundles republished, the files removed.
        "ALTER TABLE erasures ADD COLUMN republished TEXT",
        "ALTER TABLE erasures ADD COLUMN files_removed TEXT",
        "ALTER TABLE erased_subjects ADD COLUMN erasure_id BIGINT",
        "CREATE INDEX erased_subjects_erasure ON erased_subjects (erasure_id)",
        """CREATE TABLE erasure_stores (erasure_id BIGINT NOT NULL, store TEXT NOT NULL,
            PRIMARY KEY (erasure_id, store))""",
        # A device's erasure_applied event, by the erased ids' hashes (the ids are gone); store, device from its topic.
        """CREATE TABLE erasure_confirmations (subject_hash TEXT NOT NULL, store TEXT NOT NULL, device TEXT NOT NULL,
            confirmed_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (subject_hash, store, device))""",
    ],
    [  # 8: plays by the instant they started, so a report can cut them at the stores' local midnight.
        # A player's hourly summary is one row per item and zone (n numbers them within the event); the
        # old single-play event is one row. Rows in proof_of_play (UTC days) stay where they are.
        """CREATE TABLE play_hours (event_id TEXT NOT NULL, n INTEGER NOT NULL, store TEXT, device TEXT,
            item TEXT NOT NULL, zone TEXT NOT NULL, started_at DOUBLE PRECISION NOT NULL, plays BIGINT NOT NULL,
            full_plays BIGINT NOT NULL, seconds DOUBLE PRECISION NOT NULL, PRIMARY KEY (event_id, n))""",
        "CREATE INDEX play_hours_started ON play_hours (started_at, store)",
    ],
    [  # 9: a year of events: keyed (id, wall_time), by month on PostgreSQL (central/partitions.py); daily rollups
        Only("postgres", (
            "ALTER TABLE events RENAME TO events_unpartitioned",
            "ALTER INDEX events_pkey RENAME TO events_unpartitioned_pkey",
            "DROP INDEX events_type",
            "DROP INDEX events_profile",
            # Keys and indexes come after the rows: one build per partition is faster than a row at a time.
            """CREATE TABLE events (id TEXT NOT NULL, store TEXT, device TEXT, seq BIGINT, type TEXT NOT NULL,
                wall_time DOUBLE PRECISION NOT NULL, received_at DOUBLE PRECISION NOT NULL, profile_id TEXT,
                body TEXT NOT NULL) PARTITION BY RANGE (wall_time)""",
            f"CREATE TABLE {partitions.DEFAULT} PARTITION OF events DEFAULT",
            _month_partitions_for_rows,
            EVENTS_FROM_OLD,
            _same_rows_moved,
            "DROP TABLE events_unpartitioned",
            "ALTER TABLE events ADD PRIMARY KEY (id, wall_time)",
            *EVENT_INDEXES,
        )),
        Only("sqlite", (
            "ALTER TABLE events RENAME TO events_unpartitioned",
            "DROP INDEX events_type",
            "DROP INDEX events_profile",
            """CREATE TABLE events (id TEXT NOT NULL, store TEXT, device TEXT, seq BIGINT, type TEXT NOT NULL,
                wall_time DOUBLE PRECISION NOT NULL, received_at DOUBLE PRECISION NOT NULL, profile_id TEXT,
                body TEXT NOT NULL, PRIMARY KEY (id, wall_time))""",
            EVENTS_FROM_OLD,
            _same_rows_moved,
            "DROP TABLE events_unpartitioned",
            *EVENT_INDEXES,
        )),
        """CREATE TABLE rollup_event_counts (day TEXT NOT NULL, store TEXT NOT NULL, type TEXT NOT NULL,
            n BIGINT NOT NULL, PRIMARY KEY (day, store, type))""",
        """CREATE TABLE rollup_offers (day TEXT NOT NULL, store TEXT NOT NULL, offer TEXT NOT NULL, arm TEXT NOT NULL,
            impressions BIGINT NOT NULL, sends BIGINT NOT NULL, redemptions BIGINT NOT NULL,
            PRIMARY KEY (day, store, offer, arm))""",
        """CREATE TABLE rollup_plays (day TEXT NOT NULL, store TEXT NOT NULL, item TEXT NOT NULL, plays BIGINT NOT NULL,
            seconds DOUBLE PRECISION NOT NULL, PRIMARY KEY (day, store, item))""",
        _fill_rollups,
    ],
    [  # 10: the device page's health history, the fleet filtered and paged in SQL, a device's recent events
        # One row per health report, pruned by age (central/ingest.py, HEALTH_HISTORY_S).
        """CREATE TABLE device_health (id {serial}, store TEXT NOT NULL, device TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL, fps DOUBLE PRECISION, rss_bytes BIGINT, disk_free_bytes BIGINT,
            disk_used_bytes BIGINT, outbox_rows BIGINT)""",
        "CREATE INDEX device_health_device ON device_health (store, device, at)",
        # stores.csv's stores and regions (central/fleet.py, set_roster; its devices never seen go in devices)
        "CREATE TABLE fleet_stores (store TEXT PRIMARY KEY, region TEXT NOT NULL)",
        "CREATE INDEX events_device ON events (store, device, wall_time)",
    ],
    [  # 11: which screens show each emergency override, from their override_shown events (central/overrides.py)
        """CREATE TABLE override_screens (override_id TEXT NOT NULL, store TEXT NOT NULL, device TEXT NOT NULL,
            on_screen INTEGER NOT NULL, at DOUBLE PRECISION NOT NULL, seq BIGINT NOT NULL,
            PRIMARY KEY (override_id, store, device))""",
    ],
    [  # 12: the console's offer drafts (central/offer_drafts.py): changes to the playbook until they are published.
        # body: the offer as the playbook holds it (JSON); ready: the device's check passed when it was saved;
        # paused: head office holds the offer back (the draft playbook leaves it out); base_sha256: the live offer
        # the draft started from (NULL: a new offer); held_experiment: a paused experiment (JSON), kept here and out
        # of the body until it is resumed with the same salt and arms.
        """CREATE TABLE offer_drafts (scope TEXT NOT NULL, offer_id TEXT NOT NULL, body TEXT NOT NULL,
            ready INTEGER NOT NULL, paused INTEGER NOT NULL, base_sha256 TEXT, held_experiment TEXT,
            updated_at DOUBLE PRECISION NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (scope, offer_id))""",
    ],
    [  # 13: the publishing pipeline (central/pipeline.py): one row per publication and one per scope it holds or sent.
        # state: awaiting approval, piloting, promoted, rolled back; outcome: the pilot's (watching, passed, failed).
        """CREATE TABLE publications (id {serial}, author TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
            state TEXT NOT NULL, approved_by TEXT, approved_at DOUBLE PRECISION, pilot_stores TEXT NOT NULL,
            pilot_started_at DOUBLE PRECISION, watch_s DOUBLE PRECISION NOT NULL, outcome TEXT, outcome_detail TEXT,
            rolls_back BIGINT, ended_at DOUBLE PRECISION)""",
        # stage: planned (validated, not sent), pilot (sent to the pilot stores), promote, rollback; content: JSON.
        """CREATE TABLE publication_scopes (id {serial}, publication BIGINT NOT NULL, scope TEXT NOT NULL,
            stage TEXT NOT NULL, version BIGINT, sha256 TEXT NOT NULL, content TEXT NOT NULL,
            sent_at DOUBLE PRECISION)""",
        "CREATE INDEX publication_scopes_scope ON publication_scopes (scope, publication)",
    ],
    [  # 14: the drafts a publication took (central/drafts.py): once it is sent, the live baseline of each item.
        # kind: the kind of draft (offers, ...); draft: the draft as it was taken (JSON, the kind's own shape).
        """CREATE TABLE publication_drafts (publication BIGINT NOT NULL, kind TEXT NOT NULL, scope TEXT NOT NULL,
            item_id TEXT NOT NULL, draft TEXT NOT NULL, PRIMARY KEY (publication, kind, scope, item_id))""",
        "CREATE INDEX publication_drafts_item ON publication_drafts (kind, scope, item_id, publication)",
        # published_in: the publication that sent this draft (it is the live offer now, nothing waits); NULL: waits.
        "ALTER TABLE offer_drafts ADD COLUMN published_in BIGINT",
        # The chain's settings for every store (central/programme.py: the global holdout); value: JSON.
        """CREATE TABLE chain_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL, updated_by TEXT NOT NULL)""",
    ],
    [  # 15: the console's signage drafts (central/signage_drafts.py): a changed playlist, layout or schedule entry of a
        # scope until it is published. section: playlists, layouts, schedules or content_items; body: the item as
        # the bundle holds it (JSON); ready: the device's check accepted the scope's signage with it when it was saved;
        # base_sha256: the live item it started from (NULL: a new item).
        """CREATE TABLE signage_drafts (scope TEXT NOT NULL, section TEXT NOT NULL, item_id TEXT NOT NULL,
            body TEXT NOT NULL, ready INTEGER NOT NULL, base_sha256 TEXT, updated_at DOUBLE PRECISION NOT NULL,
            updated_by TEXT NOT NULL, PRIMARY KEY (scope, section, item_id))""",
    ],
    [  # 16: signage drafts through the publishing pipeline (central/drafts.py), as offer drafts go.
        # published_in: the publication that sent this draft (it is the live item now, nothing waits); NULL: waits.
        "ALTER TABLE signage_drafts ADD COLUMN published_in BIGINT",
    ],
]


class SchemaTooNew(RuntimeError):
    """The database was written by newer software; it is refused, not downgraded."""


def migrate(db: Database, *, upto: int | None = None) -> int:
    """Bring ``db`` to the newest schema (or to ``upto``, for tests of a migration); returns the version."""
    upto = len(MIGRATIONS) if upto is None else upto
    with db.transaction():
        if db.postgres:
            db.execute("SELECT pg_advisory_xact_lock(6006)")  # workers starting together migrate once
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = db.scalar("SELECT max(version) FROM schema_version") or 0
        if current > len(MIGRATIONS):
            raise SchemaTooNew(f"central database is at schema {current}; this software knows {len(MIGRATIONS)}")
        for number in range(current + 1, upto + 1):
            for step in MIGRATIONS[number - 1]:
                _run(db, step)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        return max(current, upto)


def _run(db: Database, step: Step) -> None:
    if isinstance(step, Only):
        if step.backend == db.dialect.name:
            for inner in step.steps:
                _run(db, inner)
    elif isinstance(step, str):
        db.execute(step.format(serial=db.dialect.serial_pk))
    else:
        step(db)
