"""Issue 13: the fleet view tells the truth: the version a device applied, the last content it refused and why,
and how often it started again and crashed (SQLite and PostgreSQL: central schema 4)."""

from __future__ import annotations

from central.fleet import fleet, format_fleet, record_presence
from central.ingest import store_events

NOW = 1_795_348_800.0


def test_rejections_restarts_and_crashes_show_in_the_fleet_view(db):
    def say(state: str, boot: str, **extra: object) -> None:
        record_presence(db, "s001", "kiosk-1", {"state": state, "boot_id": boot, "ts": NOW, **extra})

    say("online", "boot-1")
    say("offline", "boot-1", clean=True)  # a stop
    say("online", "boot-2")               # a start after a stop
    say("offline", "boot-2")              # its will: it died
    say("online", "boot-3")
    say("online", "boot-4")               # restarted before its will was due: died too
    say("online", "boot-4")               # the same boot again is no start
    say("offline", "boot-3")              # boot-3's late will: boot-4 stays online
    reasons = ["offer OFF-X: field 'channels': 'kisok' is not one of kiosk, tablet, signage", "offer OFF-Y: ..."]
    store_events(db, [
        {"id": "h1", "seq": 1, "type": "health", "store": "s001", "device": "kiosk-1", "wall_time": NOW,
         "payload": {"sync_state": {"chain": 40, "store/s001": 3}}},
        {"id": "r1", "seq": 2, "type": "content_rejected", "store": "s001", "device": "kiosk-1", "wall_time": NOW,
         "payload": {"scope": "chain", "version": 41, "applied": 40, "reasons": reasons}},
    ], now=NOW)
    (row,) = fleet(db, now=NOW, stale_after_s=180)
    assert (row.status, row.restarts, row.crashes) == ("online", 3, 2)
    assert row.versions == {"chain": 40, "store/s001": 3}
    assert row.rejected == {"scope": "chain", "version": 41, "applied": 40, "reasons": reasons}
    text = format_fleet([row], now=NOW)
    assert "chain=v40 store/s001=v3" in text and "restarts=3 crashes=2" in text
    assert "REJECTED chain v41: offer OFF-X: field 'channels': 'kisok' is not one of kiosk, tablet, signage" \
           " (+1 more)" in text
    assert "1 device(s) refused content and kept their last good version: s001/kiosk-1 (chain v41)" in text
