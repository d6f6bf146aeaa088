"""Head office's command line: ``store-edge-central <command>`` (docs/central.md has examples of each).

    serve                 workers (events, acks, lookups, presence), the HTTP file server, scheduled jobs
    publish               content from the YAML/CSV files to the stores (--dry-run shows each store's share)
                          through the pipeline: checked, approved if [publishing] approval, pilot stores first
    publications list|approve|promote|rollback  the publishing pipeline's history and its next steps
    override start|end|list  an emergency message or playlist to a store, a region or all, with an expiry
    fleet                 every device: presence, last seen, versions, health, last error; stale and offline
    report                CSV and PNG: proof_of_play, offers, staff (or all)
    profiles import       load profiles (JSON list or CSV) into the golden store
    merge A B             two profiles are one person (the oldest wins)
    erase ID              erase a customer everywhere;  export ID: everything held about them (JSON)
    consents ID           the consent ledger of one customer
    jobs                  event partitions and retention, RFM and co-purchase now, then profile deltas
    events partitions     the events table by month: rows, sizes, oldest/newest, the default partition
    events retention      what retention would drop (--run drops it; the daily rollups stay)
    sync-stores           profile deltas to the stores (who each store caches)
    qr issue ID           a signed QR card for a customer
    keys new|activate|list  signing keys and their rotation
    console               the head-office web console (docs/console.md)
    users add NAME        a console user (the first admin; the console manages the rest);  users list
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from sync.clock import SYSTEM, Clock
from sync.config import ConfigError
from sync.protocol.overrides import STYLES, OverrideRejected
from sync.runtime import run_until_stopped, setup_logging
from sync.sdnotify import Notifier

from . import audit as audit_mod
from . import config as config_mod
from . import overrides as overrides_mod
from . import partitions, pipeline, publishing, reports
from . import users as users_mod
from .content_files import ContentProblem, load_stores
from .db import open_database
from .erasure import export_profile
from .fleet import fleet, format_fleet
from .headoffice import HeadOffice
from .keys import Keyring, NoSigningKey
from .merge import MergeError
from .mqtt import BrokerLink
from .profiles import upsert_profile
from .qr_cards import issue_card

log = logging.getLogger("store_edge.central")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """``90s``, ``15m``, ``2h``, ``1d`` -> seconds."""
    unit = DURATION_UNITS.get(text[-1:])
    try:
        return float(text[:-1]) * unit if unit else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 2h or 1d") from None


def _scope_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    target = p.add_mutually_exclusive_group(required=required)
    target.add_argument("--store")
    target.add_argument("--region")
    target.add_argument("--device", help="one screen (a device stores.csv lists)")
    target.add_argument("--all", action="store_true", help="every store of the chain")


def _scope(args: argparse.Namespace) -> str:
    if args.all:
        return "chain"
    for kind in ("store", "region", "device"):
        if getattr(args, kind):
            return f"{kind}/{getattr(args, kind)}"
    return ""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="store-edge-central", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="central TOML (default $STORE_EDGE_CENTRAL_CONFIG)")
    sub = p.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="run the workers, the HTTP file server and the scheduled jobs")
    serve.add_argument("--workers", type=int, help="how many workers in this process (default [central] workers)")
    serve.add_argument("--first-worker", type=int, default=1, help="number of the first (stable client ids)")
    serve.add_argument("--no-http", action="store_true", help="another server or a CDN serves http_dir")
    serve.add_argument("--no-jobs", action="store_true", help="another process runs the scheduled jobs")
    pub = sub.add_parser("publish", help="publish head office's files")
    pub.add_argument("--scope", action="append", help="only this scope (repeatable): chain, region/r, ...")
    pub.add_argument("--dry-run", action="store_true", help="show what each store would get; publish nothing")
    pub.add_argument("--force", action="store_true", help="publish a new version even if unchanged")
    pub.add_argument("--pilot", action="append", metavar="STORE",
                     help="send it to this store first (repeatable; default [publishing] pilot_stores)")
    pub.add_argument("--by", default=getpass.getuser(), help="who publishes (default: your login name)")
    pubs = sub.add_parser("publications", help="the publishing pipeline: history, approve, promote, roll back")
    pubs_sub = pubs.add_subparsers(dest="action", required=True)
    pubs_sub.add_parser("list", help="every publication: who, when, approver, scopes, the pilot's outcome")
    for action, what in (("approve", "the second person's approval (not the author)"),
                         ("promote", "after a passed pilot: to every store"),
                         ("rollback", "each scope's earlier content again, as a new version")):
        step = pubs_sub.add_parser(action, help=what)
        step.add_argument("id", type=int)
        step.add_argument("--by", default=getpass.getuser(), help="who does it (default: your login name)")
    ov = sub.add_parser("override", help="emergency override")
    ov_sub = ov.add_subparsers(dest="action", required=True)
    start = ov_sub.add_parser("start", help="send an override (every target is checked against stores.csv)")
    _scope_args(start)
    start.add_argument("--id", help="override id (default ov-<UTC date>-<time>)")
    start.add_argument("--title", default="", help=f"at most {overrides_mod.MAX_TITLE} characters")
    start.add_argument("--body", default="", help=f"at most {overrides_mod.MAX_BODY} characters")
    start.add_argument("--style", default="alert", help="; ".join(f"{k}: {v}" for k, v in STYLES.items()))
    start.add_argument("--playlist", help="JSON list of content items instead of a message")
    start.add_argument("--expires-in", required=True,
                       help="30m, 2h or 1d; a bare number is minutes; more than 0, at most 7d")
    end = ov_sub.add_parser("end", help="end an override that is on now, by its id")
    _scope_args(end, required=False)
    end.add_argument("--id", required=True)
    ov_sub.add_parser("list", help="the overrides on now: id, scope, style, when each ends in store time")
    sub.add_parser("fleet", help="the devices and their state")
    rep = sub.add_parser("report", help="CSV and PNG reports")
    rep.add_argument("name", choices=[*reports.REPORTS, "all"])
    rep.add_argument("--out", default="var/central/reports")
    rep.add_argument("--no-chart", action="store_true")
    rep.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="first local day (default: --to less 29 days)")
    rep.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="last local day, included (default: today)")
    rep.add_argument("--region", default="", help="only this region's stores (stores.csv)")
    rep.add_argument("--store", default="", help="only this store")
    prof = sub.add_parser("profiles", help="profile data")
    prof_sub = prof.add_subparsers(dest="action", required=True)
    imp = prof_sub.add_parser("import")
    imp.add_argument("file", help="JSON list of profiles (the bundle's profiles fields, plus loyalty_id, created_at)")
    merge = sub.add_parser("merge", help="merge two profiles of one person")
    merge.add_argument("a")
    merge.add_argument("b")
    erase = sub.add_parser("erase", help="erase a customer everywhere")
    erase.add_argument("profile_id")
    export = sub.add_parser("export", help="everything held about one customer, as JSON")
    export.add_argument("profile_id")
    consents = sub.add_parser("consents", help="one customer's consent ledger")
    consents.add_argument("profile_id")
    jobs = sub.add_parser("jobs", help="RFM and co-purchase, then profile deltas")
    jobs.add_argument("--force", action="store_true", help="run even if nothing new arrived")
    events = sub.add_parser("events", help="the events table's month partitions and retention")
    events_sub = events.add_subparsers(dest="action", required=True)
    events_sub.add_parser("partitions", help="rows, sizes, oldest and newest per month, the default partition")
    retention = events_sub.add_parser("retention", help="what retention drops; --run drops it")
    retention.add_argument("--months", type=int, help="keep this many months, this one included"
                           " (default [central] events_retention_months)")
    retention.add_argument("--run", action="store_true", help="drop them now (default: only show)")
    sync = sub.add_parser("sync-stores", help="send each store its profile deltas")
    sync.add_argument("--store", action="append")
    qr = sub.add_parser("qr", help="QR cards")
    qr_sub = qr.add_subparsers(dest="action", required=True)
    qr_issue = qr_sub.add_parser("issue")
    qr_issue.add_argument("profile_id")
    qr_issue.add_argument("--ttl", type=duration, default=365 * 86400.0)
    keys = sub.add_parser("keys", help="signing keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    new = keys_sub.add_parser("new")
    new.add_argument("--activate", action="store_true", help="sign with it at once (first key only!)")
    act = keys_sub.add_parser("activate")
    act.add_argument("key_id")
    keys_sub.add_parser("list")
    con = sub.add_parser("console", help="the head-office web console")
    con.add_argument("--host", help="default [console] host")
    con.add_argument("--port", type=int, help="default [console] port")
    people = sub.add_parser("users", help="console users")
    people_sub = people.add_subparsers(dest="action", required=True)
    add = people_sub.add_parser("add")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=users_mod.ROLES)
    add.add_argument("--stores", help="a store manager's stores: s001,s002")
    add.add_argument("--password-file", help="read the password from this file (default: ask for it)")
    people_sub.add_parser("list")
    return p


def main(argv: list[str] | None = None, *, clock: Clock = SYSTEM) -> int:
    """The one place that picks the clock: the system's, or a test's; everything below reads it."""
    args = parser().parse_args(argv)
    setup_logging()
    try:
        config = config_mod.load(args.config)
        return run(args, config, clock)
    except ContentProblem as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"store-edge-central: {len(exc.problems)} problem(s); nothing was published", file=sys.stderr)
        return 2
    except (ConfigError, NoSigningKey, ConnectionError, MergeError, OverrideRejected, ValueError, OSError) as exc:
        print(f"store-edge-central: {exc}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace, config: config_mod.CentralConfig, clock: Clock) -> int:
    c = config.central
    if args.cmd == "keys":
        return keys_command(args, Keyring(c.keys_dir))
    if args.cmd == "serve":
        return serve(args, config, clock)
    with ExitStack() as stack:
        db = open_database(c.dsn)
        stack.callback(db.close)
        keys = Keyring(c.keys_dir)
        if args.cmd == "publish":
            # The files are checked before the broker is needed: a dry run needs none, and bad content fails alike.
            office = HeadOffice(config, db, keys, link=None, clock=clock)
            plans = office.plan_content(args.scope, force=args.force)
            if args.dry_run:
                print(publishing.dry_run(load_stores(Path(c.content_dir)), plans, c.max_inline_bytes))
                print("changes against what is live:")
                print(pipeline.pending_text(pipeline.pending(office, plans)) or "  none")
                return 0
        if args.cmd == "console":
            from console.server import serve as serve_console

            serve_console(config, db, clock, host=args.host, port=args.port)
            return 0
        if args.cmd == "users":
            return users_command(args, db, clock)
        if args.cmd == "events":
            return events_command(args, c, db, clock)
        if args.cmd in ("fleet", "report", "export", "consents", "profiles", "qr"):
            return offline_command(args, config, db, keys, clock)
        if args.cmd == "publications" and args.action == "list":
            return publications_command(args, HeadOffice(config, db, keys, link=None, clock=clock))
        if args.cmd == "override":
            return override_command(args, config, db, keys, clock, stack)
        link = BrokerLink(config.broker, f"central-{c.chain}-cli-{os.getpid()}", session_expiry_s=0).start()
        stack.callback(link.stop)
        if args.cmd == "publish":
            return publish_command(HeadOffice(config, db, keys, link, clock=clock), plans, args)
        if args.cmd == "publications":
            return publications_command(args, HeadOffice(config, db, keys, link, clock=clock))
        return online_command(args, HeadOffice(config, db, keys, link, clock=clock))


def publish_command(office: HeadOffice, plans: list[publishing.Planned], args: argparse.Namespace) -> int:
    """Exit status 3: checked and recorded, but waiting for another person's approval."""
    pub = pipeline.submit(office, plans, author=args.by, pilot=args.pilot, client="cli")
    if pub is None:
        print("0 bundle(s) published")
        return 0
    if pub.state == pipeline.AWAITING:
        print(f"publication {pub.id} is checked and waits for approval; another person runs:\n"
              f"  store-edge-central publications approve {pub.id} --by NAME   (not {pub.author})", file=sys.stderr)
        return 3
    return _sent_lines(office, pub)


def _sent_lines(office: HeadOffice, pub: pipeline.Publication) -> int:
    sent = [r for r in pipeline.rows(office.db, pub.id) if r.stage != "planned"]
    for r in sent:
        print(f"published {r.scope} v{r.version} sha256 {r.sha256[:12]} ({r.stage})")
    print(f"{len(sent)} bundle(s) published")
    if pub.state == pipeline.PILOTING:
        print(f"publication {pub.id} pilots at {', '.join(pub.pilot_stores)}; watched {pub.watch_s:.0f} s, then:"
              f" store-edge-central publications promote {pub.id}")
    return 0


def publications_command(args: argparse.Namespace, office: HeadOffice) -> int:
    if args.action == "list":
        for pub in pipeline.history(office.db):
            if pub.state == pipeline.PILOTING:
                pipeline.watch(office, pub.id)
                pub = pipeline.get(office.db, pub.id)
            scopes = sorted({r.scope for r in pipeline.rows(office.db, pub.id)})
            pilot = (f" pilot {','.join(pub.pilot_stores)}: {pub.outcome} ({pub.outcome_detail})"
                     if pub.pilot_stores else "")
            again = f" (rolls back {pub.rolls_back})" if pub.rolls_back else ""
            print(f"{pub.id:>4} {audit_mod.utc_text(pub.created_at)} {pub.author:<12} {pub.state:<17}"
                  f" approved by {pub.approved_by or '-'}{again}{pilot} scopes {', '.join(scopes)}")
        return 0
    step = {"approve": pipeline.approve, "promote": pipeline.promote, "rollback": pipeline.rollback}[args.action]
    return _sent_lines(office, step(office, args.id, by=args.by, client="cli"))


def report_command(args, config: config_mod.CentralConfig, db, clock: Clock) -> int:
    c = config.central
    stores = load_stores(Path(c.content_dir)) if (Path(c.content_dir) / "stores.csv").exists() else []
    names = reports.store_names(stores)
    try:
        last = reports.parse_day(args.last, "--to") if args.last else reports.today(clock.now(), c.timezone)
        first = reports.parse_day(args.first, "--from") if args.first else last - timedelta(days=29)
        chosen = reports.choose_stores(stores, region=args.region, store=args.store)
        f = reports.Filters(first, last, c.timezone, chosen)
    except reports.PeriodError as exc:
        print(f"store-edge-central: {exc}", file=sys.stderr)
        return 2
    where = reports.where_text(args.region, args.store, names)
    for name in list(reports.REPORTS) if args.name == "all" else [args.name]:
        files, count = reports.write_report(db, name, Path(args.out), f, names=names, where=where,
                                            chart=not args.no_chart)
        print(f"{name}: {count} row(s) for {f.period_text()} ({c.timezone}), {where}"
              + ("" if count else " - no data: the CSV has its header only, the chart says so"))
        for path in files:
            print(f"  {path}")
    return 0


def offline_command(args, config: config_mod.CentralConfig, db, keys: Keyring, clock: Clock) -> int:
    """Commands that need the store but not the broker."""
    c = config.central
    if args.cmd == "fleet":
        stores = load_stores(Path(c.content_dir)) if (Path(c.content_dir) / "stores.csv").exists() else []
        now = clock.time()
        print(format_fleet(fleet(db, now=now, stale_after_s=c.stale_after_s, stores=stores), now=now))
    elif args.cmd == "report":
        return report_command(args, config, db, clock)
    elif args.cmd in ("export", "consents"):
        doc = export_profile(db, args.profile_id)
        if doc is None:
            print(f"store-edge-central: no profile {args.profile_id!r}", file=sys.stderr)
            return 1
        print(json.dumps(doc if args.cmd == "export" else doc["consents"], indent=1, ensure_ascii=False))
    elif args.cmd == "profiles":
        rows = json.loads(Path(args.file).read_text(encoding="utf-8"))
        now = clock.time()
        with db.transaction():
            for row in rows:
                upsert_profile(db, row, now=now)
        print(f"{len(rows)} profile(s) imported")
    elif args.cmd == "qr":
        print(issue_card(db, keys, args.profile_id, now=clock.time(), ttl_s=int(args.ttl)))
    return 0


def events_command(args, c: config_mod.CentralSection, db, clock: Clock) -> int:
    """The events table by month, and retention: shown, or carried out with --run."""
    now = clock.time()
    partitions.ensure(db, now=now, ahead=c.events_months_ahead)
    if args.action == "partitions":
        months = c.events_retention_months
        print(partitions.format_partitions(partitions.partitions(db),
                                           partitions.plan(db, now=now, months=months) if months > 0 else None))
        return 0
    months = c.events_retention_months if args.months is None else args.months
    if months < 1:
        print("store-edge-central: no retention set: [central] events_retention_months is 0 (keep everything);"
              " give --months N to see or drop what N months would keep", file=sys.stderr)
        return 2
    plan = partitions.plan(db, now=now, months=months)
    print(partitions.format_partitions(partitions.partitions(db), plan))
    if args.run:
        removed = partitions.apply(db, plan)
        print(f"dropped {len(plan.drop)} month(s); {removed:,} event(s) removed; the daily rollups keep their counts")
    else:
        print("nothing dropped: add --run to drop them")
    return 0


def override_command(args, config: config_mod.CentralConfig, db, keys: Keyring, clock: Clock,
                     stack: ExitStack) -> int:
    """Everything is checked against stores.csv and the override's record before the broker is needed."""
    c = config.central
    stores = load_stores(Path(c.content_dir))
    now = clock.time()
    if args.action == "list":
        on = overrides_mod.active(db, now)
        for o in on:
            until = overrides_mod.local_time(o.expires_at, overrides_mod.zones_of(stores, o.scope))
            print(f"{o.override_id:<24} {o.scope:<20} {o.style:<8} until {until}  {o.title!r}")
        print(f"{len(on)} override(s) on now")
        return 0
    actor = f"cli:{getpass.getuser()}"
    if args.action == "start":
        try:
            playlist = json.loads(args.playlist) if args.playlist else None
        except ValueError:
            raise overrides_mod.OverrideError("--playlist is not a JSON list of content item ids") from None
        draft = overrides_mod.draft(db, stores, scope=_scope(args), expires_in=args.expires_in, title=args.title,
                                    body=args.body, style=args.style, playlist=playlist, override_id=args.id or "",
                                    now=now)
    else:
        sent = overrides_mod.end_check(db, args.id, now)
        if _scope(args) and _scope(args) != sent.scope:
            raise overrides_mod.OverrideError(f"override {args.id} is on {sent.scope}, not {_scope(args)}")
    link = BrokerLink(config.broker, f"central-{c.chain}-cli-{os.getpid()}", session_expiry_s=0).start()
    stack.callback(link.stop)
    office = HeadOffice(config, db, keys, link, clock=clock)
    if args.action == "start":
        ov = office.start_override(draft, actor=actor, client="command line")
        until = overrides_mod.local_time(ov.expires_at, overrides_mod.zones_of(stores, ov.scope))
        print(f"override {ov.override_id} start on {ov.scope} until {until};"
              f" {len(overrides_mod.screens_in(stores, ov.scope))} screen(s) reached")
    else:
        ov = office.end_override(args.id, actor=actor, client="command line")
        print(f"override {ov.override_id} ended on {ov.scope} at "
              + overrides_mod.local_time(ov.issued_at, overrides_mod.zones_of(stores, ov.scope)))
    return 0


def online_command(args, office: HeadOffice) -> int:
    if args.cmd == "merge":
        m = office.merge(args.a, args.b)
        print(f"merged {m.loser} into {m.winner}; {len(m.stores)} store(s) updated")
    elif args.cmd == "erase":
        e = office.erase(args.profile_id, requested_by="cli")
        if e is None:
            print(f"store-edge-central: no profile {args.profile_id!r}", file=sys.stderr)
            return 1
        print(f"erased {len(e.profile_ids)} profile(s); {e.events_anonymised} event(s) anonymised;"
              f" erase sent to {len(e.stores)} store(s)")
        for topic, version in e.republished:
            print(f"republished {topic} v{version} without them")
        for path in e.files_removed:
            print(f"removed {path}")
        print(f"{len(e.republished)} retained bundle(s) republished, {len(e.files_removed)} bundle file(s) removed")
    elif args.cmd == "jobs":
        r = office.run_jobs(force=args.force)
        print(f"jobs: {'ran' if r.ran else 'nothing new'}; {r.customers} customers, {r.baskets} new baskets,"
              f" {r.pairs} pairs, {r.seconds:.1f}s")
    elif args.cmd == "sync-stores":
        stores = args.store or [r[0] for r in office.db.execute("SELECT DISTINCT store FROM profile_stores")]
        for store in sorted(stores):
            s = office.sync_store(store)
            print(f"{store}: {s.upserted} profile(s) sent; {s.to_evict} no longer chosen (dropped at the next"
                  " publish)")
    return 0


def users_command(args, db, clock: Clock) -> int:
    """Users from the command line: the first admin, and a list; the console does the rest (and audits it)."""
    if args.action == "list":
        for u in users_mod.list_users(db):
            print(f"{u.username:<20} {u.role:<16} {','.join(u.stores) or '-':<20} {'active' if u.active else 'off'}")
        return 0
    if args.password_file:
        password = Path(args.password_file).read_text(encoding="utf-8").rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("store-edge-central: the two passwords differ; nobody was added", file=sys.stderr)
            return 1
    user = users_mod.add_user(db, args.name, args.role, password, stores=users_mod.parse_stores(args.stores),
                              now=clock.time())
    audit_mod.record(db, at=clock.time(), actor=f"cli:{getpass.getuser()}", action="user.add",
                     scope=f"user/{user.username}", detail=f"role {user.role}", client="command line")
    print(f"{user.username} added as {user.role}" + (f" for {','.join(user.stores)}" if user.stores else ""))
    return 0


def keys_command(args, keys: Keyring) -> int:
    if args.action == "new":
        kid = keys.new_key()
        if args.activate:
            keys.activate(kid)
        print(f"key {kid}: {keys.folder / f'chain-{kid}.pub'} goes to every device's [sync] trusted_keys"
              + ("; active now" if args.activate else "; then run 'keys activate " + kid + "'"))
    elif args.action == "activate":
        keys.activate(args.key_id)
        print(f"signing with {args.key_id} from now on")
    else:
        active = keys.active_id if keys.keys else None
        for kid in sorted(keys.keys):
            print(f"{kid}{'  (active)' if kid == active else ''}")
    return 0


def serve(args, config: config_mod.CentralConfig, clock: Clock) -> int:
    from .service import CentralService

    service = CentralService(config, clock=clock, workers=args.workers, first_worker=args.first_worker,
                             http=not args.no_http, jobs=not args.no_jobs).start()
    console = None
    if config.console.enabled:
        from console.server import Background

        console = Background(config, open_database(config.central.dsn), clock).start()  # its own connection
        log.info("console on %s:%d", config.console.host, config.console.port)
    notifier = Notifier()
    notifier.ready(f"{len(service.workers)} worker(s) for chain {config.central.chain}")
    run_until_stopped(notifier, alive=lambda: service.alive)
    service.stop()
    if console:
        console.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
