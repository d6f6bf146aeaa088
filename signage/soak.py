"""The soak: hours of a screen compressed into minutes of fast rotation, with memory sampled.

Used by the soak test (``tests/ui/test_signage_soak.py``, 10 minutes) and by
``benchmarks/signage_bench.py``: items of 0.2 s, pictures and live menu boards, on the real player
with the real clock. Each 0.2 s item is a full cycle of decode, texture upload, widget tree change
and proof of play, so a leak per item shows within minutes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sync.runtime import rss_bytes

from .cards import PRODUCT_PICTURES, product_picture

ITEM_S = 0.2


def soak_content(media_dir: Path, item_s: float = ITEM_S) -> dict:
    """Six pictures and two menu boards in one main-zone playlist, a menu board side zone, a clock."""
    import hashlib

    media_dir.mkdir(parents=True, exist_ok=True)
    items, media = [], []
    for name, motif, top, bottom in PRODUCT_PICTURES:
        data = product_picture(motif, top, bottom)
        sha = hashlib.sha256(data).hexdigest()
        (media_dir / sha).write_bytes(data)
        media.append({"sha256": sha, "url": f"http://127.0.0.1:9/{name}.jpg", "size": len(data), "mime": "image/jpeg"})
        items.append({"id": f"img-{name}", "kind": "image", "media": sha, "duration_s": item_s})
    items += [{"id": "menu-a", "kind": "menu_board", "duration_s": item_s, "limit": 10},
              {"id": "menu-b", "kind": "menu_board", "duration_s": item_s, "limit": 6}]
    order = [i["id"] for i in items]
    return {
        "layouts": [{"id": "soak", "zones": [
            {"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 0.7, "h": 1},
            {"id": "side", "kind": "playlist", "x": 0.7, "y": 0, "w": 0.3, "h": 0.85, "playlist": "pl-side"},
            {"id": "clock", "kind": "clock", "x": 0.7, "y": 0.85, "w": 0.3, "h": 0.15}]}],
        "content_items": items,
        "playlists": [{"id": "pl-soak", "order": "sequential", "items": order},
                      {"id": "pl-side", "order": "sequential", "items": ["menu-b", "menu-a"]}],
        "schedules": [{"id": "sch-soak", "playlist": "pl-soak", "default": True}],
        "media": media,
    }


@dataclass
class SoakResult:
    seconds: float
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, RSS bytes)
    plays: int = 0
    frames: int = 0

    def after(self, warmup_s: float) -> list[tuple[float, int]]:
        return [(t, r) for t, r in self.samples if t >= warmup_s]

    def growth(self, warmup_s: float) -> float:
        """(highest - first) / first RSS after warm-up: 0.05 is 5 %."""
        rest = self.after(warmup_s)
        return (max(r for _, r in rest) - rest[0][1]) / rest[0][1]

    def trend(self, warmup_s: float) -> float:
        """The least-squares slope after warm-up over the remaining run, as a fraction of the mean RSS."""
        rest = self.after(warmup_s)
        ts, rs = [t for t, _ in rest], [r for _, r in rest]
        slope = statistics.linear_regression(ts, rs).slope
        return slope * (ts[-1] - ts[0]) / statistics.fmean(rs)


def run_soak(player, seconds: float, *, sample_every_s: float = 5.0,
             on_sample: Callable[[float, int], None] | None = None) -> SoakResult:
    """Run Kivy frames for ``seconds`` of real time, sampling RSS; ``player`` must already be started."""
    import gc

    from kivy.base import EventLoop

    result = SoakResult(seconds)
    plays_before = player.proof.total
    start = time.monotonic()
    next_sample = start
    while (now := time.monotonic()) - start < seconds:
        EventLoop.idle()
        result.frames += 1
        if now >= next_sample:
            gc.collect()  # what is left after a collection is what the process really holds on to
            sample = (round(now - start, 1), rss_bytes())
            result.samples.append(sample)
            if on_sample:
                on_sample(*sample)
            next_sample += sample_every_s
    result.plays = player.proof.total - plays_before
    return result
