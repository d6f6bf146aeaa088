"""The count of screens showing an emergency override, end to end over a real Mosquitto: head office sends it
(``HeadOffice.start_override``, as the console and the command line do), the real agent verifies and stores it,
the real signage player puts it on the screen and says so with an ``override_shown`` event through the device's
outbox, a real central worker ingests it, and head office's count goes from 0 of 2 screens to 1 of 2; after
``end_override`` the player takes it off, says so, and the count goes back to 0 of 2."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable

from support import CHAIN, chain_keyring
from ui_driver import advance, shot, stop_previous_app

from central import overrides
from central.config import CentralConfig, CentralSection
from central.content_files import load_stores
from central.db import open_database
from central.headoffice import HeadOffice
from central.keys import Keyring
from central.mqtt import BrokerLink
from central.worker import Worker
from signage.__main__ import wire
from signage.app import SignageApp
from signage.live import StoreInfo
from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.config import BrokerSection, SignageSection


def _frames_until(predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Kivy's frames run on this thread, so the wait turns them while the agent and the worker work."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        advance(1)
        time.sleep(0.02)


def test_the_player_reports_the_override_on_its_screen_and_head_office_counts_it(
        broker, start_agent, device_config, chain_key, clock, tmp_path, shots):
    folder = chain_keyring(tmp_path / "central-keys", chain_key)
    content = tmp_path / "headoffice"
    content.mkdir()
    (content / "stores.csv").write_text("store,region,devices,timezone\n"
                                        "s001,south,signage-1|signage-2,Europe/Sofia\n")
    config = CentralConfig(CentralSection(chain=CHAIN, dsn=str(tmp_path / "central.db"), keys_dir=str(folder),
                                          content_dir=str(content)),
                           BrokerSection(port=broker.port, keepalive_s=5))
    keys = Keyring(folder)
    db = open_database(config.central.dsn)
    worker = Worker(config, 1, clock=clock, keys=keys).start()
    link = BrokerLink(config.broker, "central-demo-test-overrides").start()
    office = HeadOffice(config, db, keys, link, clock=clock)
    stores = load_stores(content)

    device = device_config(device="signage-1")
    device = dataclasses.replace(device, device=dataclasses.replace(device.device, kind="signage"))
    agent = start_agent(device)
    cache = Cache(agent.cache_path)
    d = device.device
    stop_previous_app()
    app = SignageApp(cache=cache, outbox=Outbox(cache, boot_id=agent.boot_id, device=d.id, store=d.store, clock=clock),
                     store=StoreInfo(d.chain, d.region, d.store, d.id, d.timezone), media_dir=agent.media_dir,
                     clock=clock, settings=SignageSection(lang="en"))
    wire(agent, app)
    app._run_prepare()
    try:
        advance(5)
        assert app.player.state == "waiting"  # a fresh device: no content yet, and no override
        # The longest message head office lets through, so that the screenshot shows it fits.
        title = "Closed today: flooding on Vitosha Blvd."[:overrides.MAX_TITLE]
        body = "Water came in overnight. Your orders wait at our Graf Ignatiev store, open until 21:00 today."
        body += " Sorry, see you soon!"
        assert len(title) == overrides.MAX_TITLE - 1 and overrides.MAX_BODY - 10 <= len(body) <= overrides.MAX_BODY
        draft = overrides.draft(db, stores, scope="store/s001", expires_in="30", title=title, body=body,
                                now=clock.time())
        office.start_override(draft, actor="test", client="pytest")
        sent = overrides.find(db, draft.override_id)

        def count() -> str:
            return str(overrides.screen_count(db, stores, sent))

        assert count() == "0 of 2 screens"
        _frames_until(lambda: app.player.state == "override", "the override on the player's screen")
        assert app.player.override.override_id == draft.override_id
        _frames_until(lambda: count() == "1 of 2 screens", "head office counting the screen")
        assert overrides.screen_count(db, stores, sent).showing == (("s001", "signage-1"),)
        (shots / "signage").mkdir(exist_ok=True)
        shot(shots / "signage", "override-counted-at-head-office")
        _assert_fits(app.player.stage)

        office.end_override(draft.override_id, actor="test", client="pytest")
        _frames_until(lambda: app.player.state != "override", "the player taking the override off")
        _frames_until(lambda: count() == "0 of 2 screens", "head office counting it off")
        reports = [e["payload"]["on_screen"] for e in _events(db, "override_shown")]
        assert reports == [True, False]
    finally:
        app.detach()
        cache.close()
        link.stop()
        worker.stop()
        db.close()


def _events(db, kind: str) -> list[dict]:
    return [json.loads(body) for (body,) in db.execute("SELECT body FROM events WHERE type = ? ORDER BY seq",
                                                       (kind,))]


def _assert_fits(stage) -> None:
    """The message's title and body lie between the slide's bands and do not overlap (no clipped text)."""
    from kivy.uix.label import Label

    slide = stage.children[0]
    boxes = []
    for label in (w for w in slide.children if isinstance(w, Label)):
        w, h = label.texture_size
        boxes.append((label.center_y - h / 2, label.center_y + h / 2, label.center_x - w / 2, label.center_x + w / 2))
    (body_bottom, body_top, *body_x), (title_bottom, title_top, *title_x) = sorted(boxes)
    band = slide.height * 0.06  # the yellow bands at the top and the bottom (signage/kv/signage.kv)
    assert band <= body_bottom and title_top <= slide.height - band, (boxes, slide.size)
    assert body_top < title_bottom, f"the title and the message overlap: {boxes}"
    assert all(0 <= x <= slide.width for x in (*body_x, *title_x)), (boxes, slide.size)
