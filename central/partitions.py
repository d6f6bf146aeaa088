"""The events table by month: partitions made ahead of time, the default partition, and retention.

On PostgreSQL ``events`` is partitioned by range of ``wall_time`` (the device's clock, unix
seconds), one partition per calendar month in UTC, ``events_YYYY_MM``, plus ``events_default`` for
every row no month partition takes: a clock that is far off, and events stored without a time of
their own (``wall_time`` 0, see ``central.ingest.stored_wall_time``). Partitions are made for the
current month and ``ahead`` months after it, at start-up and by every jobs run; a month made
later takes its rows out of the default partition first. Retention drops whole months older than
``[central] events_retention_months`` (their rollups stay: ``central.rollups``) and deletes the
default partition's rows received before the same cut-off.

On SQLite ``events`` stays one plain table: the same listing groups it by month, and retention is
a DELETE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .db import Database

LOCK = 6007  # partition DDL, one process at a time (6006 is the migrations')
DEFAULT = "events_default"


def month_start(ts: float) -> tuple[int, int]:
    d = datetime.fromtimestamp(ts, UTC)
    return d.year, d.month


def shift(month: tuple[int, int], by: int) -> tuple[int, int]:
    index = month[0] * 12 + month[1] - 1 + by
    return index // 12, index % 12 + 1


def bounds(month: tuple[int, int]) -> tuple[float, float]:
    """The month's first second and the next month's, unix seconds UTC."""
    nxt = shift(month, 1)
    return (datetime(*month, 1, tzinfo=UTC).timestamp(), datetime(*nxt, 1, tzinfo=UTC).timestamp())


def name_of(month: tuple[int, int]) -> str:
    return f"events_{month[0]:04d}_{month[1]:02d}"


@dataclass(frozen=True)
class Partition:
    name: str  # events_2026_12, events_default; on SQLite the month, 2026-12
    low: float | None  # None for the default partition
    high: float | None
    rows: int
    bytes: int | None  # None on SQLite (one file)
    oldest: float | None  # wall_time of its oldest and newest rows
    newest: float | None

    @property
    def month(self) -> str:
        if self.low is not None:
            return datetime.fromtimestamp(self.low, UTC).strftime("%Y-%m")
        return self.name if self.name[:1].isdigit() else "default"


def _existing(db: Database) -> set[str]:
    return {r[0] for r in db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'")}


def create_month(db: Database, month: tuple[int, int]) -> bool:
    """Make one month's partition (in the caller's transaction); its rows leave the default partition
    first, since PostgreSQL will not attach a range the default partition still holds rows of."""
    name = name_of(month)
    if name in _existing(db):
        return False
    low, high = bounds(month)
    # ATTACH takes this lock anyway; taken first, no worker can add a row of the month between the move and it.
    db.execute(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE")
    db.execute(f"CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    db.execute(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE wall_time >= ? AND wall_time < ? RETURNING *)"
               f" INSERT INTO {name} SELECT * FROM moved", (low, high))
    db.execute(f"ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM ({low!r}) TO ({high!r})")
    return True


def ensure(db: Database, *, now: float, ahead: int = 3) -> list[str]:
    """This month's partition and ``ahead`` more; returns the names made. Nothing to do on SQLite."""
    if not db.postgres:
        return []
    made = []
    with db.transaction():
        db.execute(f"SELECT pg_advisory_xact_lock({LOCK})")
        for k in range(ahead + 1):
            month = shift(month_start(now), k)
            if create_month(db, month):
                made.append(name_of(month))
    return made


def partitions(db: Database) -> list[Partition]:
    """Every partition, oldest month first, the default last: rows, bytes, oldest and newest wall_time.
    It counts every row (exact figures for a retention decision), so it reads the whole table."""
    if not db.postgres:
        return [Partition(m, None, None, int(n), None, lo, hi) for m, n, lo, hi in db.execute(
            "SELECT CASE WHEN wall_time > 0 AND wall_time < 253402300800"
            " THEN strftime('%Y-%m', wall_time, 'unixepoch') ELSE 'default' END AS m,"
            " count(*), min(wall_time), max(wall_time) FROM events GROUP BY m ORDER BY m")]
    out = []
    for name in sorted(_existing(db) - {DEFAULT}) + [DEFAULT]:
        n, lo, hi = db.query_one(f"SELECT count(*), min(wall_time), max(wall_time) FROM {name}")
        size = int(db.scalar("SELECT pg_total_relation_size(?::regclass)", (name,)))
        low = high = None
        if name != DEFAULT:
            low, high = bounds((int(name[7:11]), int(name[12:14])))
        out.append(Partition(name, low, high, int(n), size, lo, hi))
    return out


@dataclass(frozen=True)
class RetentionPlan:
    cutoff: float  # the first second kept: the start of the oldest month kept
    drop: list[Partition]  # whole months (PostgreSQL) or month groups (SQLite) that go
    default_rows: int  # rows of the default partition received before the cut-off, that go too


def cutoff_of(*, now: float, months: int) -> float:
    """The first second retention of ``months`` months (this one included) keeps: the oldest kept month's start."""
    if months < 1:
        raise ValueError(f"events_retention_months must be 1 or more to drop anything, not {months}")
    return bounds(shift(month_start(now), 1 - months))[0]


_DATED = "wall_time > 0 AND wall_time < 253402300800"  # SQLite: rows with a time of their own


def plan(db: Database, *, now: float, months: int) -> RetentionPlan:
    """What retention of ``months`` months would remove, counted (the ``events`` commands)."""
    cutoff = cutoff_of(now=now, months=months)
    if db.postgres:
        drop = [p for p in partitions(db) if p.high is not None and p.high <= cutoff]
        stale = int(db.scalar(f"SELECT count(*) FROM {DEFAULT} WHERE received_at < ?", (cutoff,)) or 0)
    else:
        first_kept = datetime.fromtimestamp(cutoff, UTC).strftime("%Y-%m")
        drop = [p for p in partitions(db) if p.name != "default" and p.name < first_kept]
        stale = int(db.scalar(f"SELECT count(*) FROM events WHERE NOT ({_DATED}) AND received_at < ?", (cutoff,)) or 0)
    return RetentionPlan(cutoff, drop, stale)


def drop_before(db: Database, cutoff: float) -> tuple[list[str], int]:
    """Drop every month that ends by ``cutoff`` and the default partition's rows received before it, in one
    transaction, without counting the months first (the scheduled jobs); returns (months dropped, default
    rows deleted). On SQLite the months are the rows dated before the cut-off, and the count is all rows."""
    with db.transaction():
        if not db.postgres:
            rows = db.execute(f"DELETE FROM events WHERE (wall_time > 0 AND wall_time < ?)"
                              f" OR (NOT ({_DATED}) AND received_at < ?) RETURNING 1", (cutoff, cutoff))
            return [], len(rows)
        db.execute(f"SELECT pg_advisory_xact_lock({LOCK})")
        months = [n for n in sorted(_existing(db) - {DEFAULT}) if bounds((int(n[7:11]), int(n[12:14])))[1] <= cutoff]
        for name in months:
            db.execute(f"DROP TABLE {name}")
        return months, len(db.execute(f"DELETE FROM {DEFAULT} WHERE received_at < ? RETURNING 1", (cutoff,)))


def apply(db: Database, retention: RetentionPlan) -> int:
    """Carry out a plan; returns the rows removed (the plan's counts). The rollups are untouched."""
    _months, default_rows = drop_before(db, retention.cutoff)
    return (sum(p.rows for p in retention.drop) if db.postgres else 0) + default_rows


def maintain(db: Database, *, now: float, ahead: int, retention_months: int) -> tuple[list[str], list[str]]:
    """What the scheduled jobs do: partitions ahead, then retention when it is set (0 keeps everything).
    Returns (months made, months dropped)."""
    made = ensure(db, now=now, ahead=ahead)
    if retention_months < 1:
        return made, []
    return made, drop_before(db, cutoff_of(now=now, months=retention_months))[0]


def format_partitions(parts: list[Partition], retention: RetentionPlan | None = None) -> str:
    """The ``events partitions`` table; with a plan, what it would drop is marked."""
    going = {p.name for p in retention.drop} if retention else set()
    lines = [f"{'partition':<16} {'month':<8} {'rows':>12} {'size':>10}  {'oldest wall_time':<20} newest"]
    for p in parts:
        size = "-" if p.bytes is None else f"{p.bytes / 2**20:,.1f} MB"
        lines.append((f"{p.name:<16} {p.month:<8} {p.rows:>12,} {size:>10}  {_when(p.oldest):<20} {_when(p.newest):<20}"
                      + ("  DROP" if p.name in going else "")).rstrip())
    default = next((p.rows for p in parts if p.low is None and p.name in (DEFAULT, "default")), 0)
    lines.append(f"{sum(p.rows for p in parts):,} events; {default:,} in the default partition (no month takes"
                 " them: a clock far off, or no time of their own)")
    if retention:
        kept = datetime.fromtimestamp(retention.cutoff, UTC).strftime("%Y-%m-%d")
        lines.append(f"retention keeps from {kept}: {len(retention.drop)} month(s) to drop"
                     f" ({sum(p.rows for p in retention.drop):,} events), {retention.default_rows:,} default-partition"
                     " row(s) received before then")
    return "\n".join(lines)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    if not 0 < ts < 253402300800:
        return f"{ts:g} (no date)"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
