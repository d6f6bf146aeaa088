"""End to end over a real Mosquitto: head office publishes the store's content and then a retained emergency
override; the running agent verifies it and the signage player on the same device puts it on screen."""

from __future__ import annotations

import base64
import dataclasses
import time

from signage_content import week_content
from support import CHAIN, wait_for
from ui_driver import advance, shot, stop_previous_app

from demo.store import ASSETS, load_assets
from signage.__main__ import wire
from signage.app import SignageApp
from signage.live import StoreInfo
from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.config import SignageSection
from sync.protocol.overrides import Override, sign_override
from sync.protocol.topics import override_topic


def test_a_retained_override_reaches_the_running_player_and_takes_the_screen(
        start_agent, device_config, responder, chain_key, clock, tmp_path, shots):
    chain, store = load_assets(ASSETS)
    signage = week_content(tmp_path / "unused-media")
    for name in ("layouts", "text_templates", "content_items", "playlists", "schedules"):
        chain[name] = signage[name]
    # no media on this bundle: text slides and live boards only (the media path is tested in test_media.py)
    chain["content_items"] = [i for i in chain["content_items"] if i["kind"] != "image"]
    chain["playlists"][0]["items"] = ["txt-combo"]
    chain["playlists"][1]["items"] = ["txt-wifi"]
    responder.publish_bundle("chain", chain)
    responder.publish_bundle("store/s001", {"inventory": store["inventory"]})
    config = device_config(device="signage-1")
    config = dataclasses.replace(config, device=dataclasses.replace(config.device, kind="signage"))
    agent = start_agent(config)
    wait_for(lambda: len(agent.reader.sync_state()) == 2, what="both bundles applied")

    cache = Cache(agent.cache_path)
    d = config.device
    stop_previous_app()  # before this app exists: it becomes the running app when made
    app = SignageApp(cache=cache, outbox=Outbox(cache, boot_id=agent.boot_id, device=d.id, store=d.store, clock=clock),
                     store=StoreInfo(d.chain, d.region, d.store, d.id, d.timezone), media_dir=agent.media_dir,
                     clock=clock, settings=SignageSection(lang="en"))
    wire(agent, app)
    app._run_prepare()
    try:
        advance(5)
        assert app.player.state == "playing"
        now = clock.time()
        flood = Override(CHAIN, "store/s001", "ov-flood", now, now + 120, "start",
                         message={"title": "Closed today: flooding", "body": "Please visit our Vitosha Blvd store"})
        responder.publish_retained(override_topic(CHAIN, "store/s001"), sign_override(flood, chain_key))
        sent = time.monotonic()
        deadline = sent + 10
        while app.player.state != "override" and time.monotonic() < deadline:
            advance(1)
        assert app.player.state == "override" and app.player.override.override_id == "ov-flood"
        print(f"override on screen {time.monotonic() - sent:.3f} s after publishing")
        (shots / "signage").mkdir(exist_ok=True)
        shot(shots / "signage", "override-over-mqtt")

        # head office asks for a screenshot: a downscaled PNG comes back on the response topic
        box = {}
        import threading
        t = threading.Thread(target=lambda: box.update(responder.command("s001", "signage-1", "screenshot",
                                                                         {"width": 400}, timeout=10) or {}))
        t.start()
        while t.is_alive():
            advance(1)
        png = base64.b64decode(box["result"]["png_base64"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and box["result"]["width"] == 400

        # the end arrives retained too; the schedule takes the screen back
        end = Override(CHAIN, "store/s001", "ov-flood", now + 1, now + 1, "end")
        responder.publish_retained(override_topic(CHAIN, "store/s001"), sign_override(end, chain_key))
        deadline = time.monotonic() + 10
        while app.player.state != "playing" and time.monotonic() < deadline:
            advance(1)
        assert app.player.state == "playing"
    finally:
        app.detach()
        cache.close()
