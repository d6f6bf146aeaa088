"""Head office running: the workers, the HTTP file server and the scheduled jobs, started and stopped together.
``store-edge-central serve`` and the demo's head office both run this (each adds the console on top)."""

from __future__ import annotations

import logging
import threading

from sync.clock import Clock

from . import partitions
from .config import CentralConfig
from .db import open_database
from .headoffice import HeadOffice
from .http import FileServer
from .keys import Keyring
from .worker import Worker

log = logging.getLogger("store_edge.central")


class CentralService:
    def __init__(self, config: CentralConfig, *, clock: Clock, workers: int | None = None, first_worker: int = 1,
                 http: bool = True, jobs: bool = True):
        self.config, self.clock = config, clock
        self.count, self.first_worker = workers or config.central.workers, first_worker
        self.http, self.jobs = http, jobs
        self.workers: list[Worker] = []
        self.files: FileServer | None = None
        self._stop = threading.Event()

    def start(self) -> CentralService:
        c = self.config.central
        db = open_database(c.dsn)  # migrate once, before the workers; this month's partition and the next ones
        try:
            partitions.ensure(db, now=self.clock.time(), ahead=c.events_months_ahead)
        finally:
            db.close()
        keys = Keyring(c.keys_dir)
        keys.active_id  # noqa: B018 - fail now, not at the first erasure, if there is no key
        self.workers = [Worker(self.config, n, clock=self.clock, keys=keys).start()
                        for n in range(self.first_worker, self.first_worker + self.count)]
        if self.http:
            self.files = FileServer(c.http_dir, c.http_host, c.http_port, clock=self.clock).start()
        if self.jobs:
            office = HeadOffice(self.config, open_database(c.dsn), keys, self.workers[0].link, clock=self.clock)
            threading.Thread(target=self._scheduled, args=(office,), name="central-jobs", daemon=True).start()
        log.info("central serving chain %s: %d worker(s)%s", c.chain, len(self.workers),
                 f", files on :{self.files.port}" if self.files else "")
        return self

    @property
    def alive(self) -> bool:
        return all(w.alive for w in self.workers)

    def _scheduled(self, office: HeadOffice) -> None:
        every = self.config.central.jobs_every_s
        while not self._stop.wait(every):
            try:
                office.run_jobs()
            except Exception:
                log.exception("scheduled jobs failed; next try in %.0fs", every)

    def stop(self) -> None:
        self._stop.set()
        for w in self.workers:
            w.stop()
        if self.files:
            self.files.stop()
