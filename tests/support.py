"""Helpers the tests share (imported as ``support``; conftest.py only holds fixtures)."""

from __future__ import annotations

import gc
import sqlite3
import time
import types
from collections.abc import Callable
from pathlib import Path

from sync.protocol.content import SECTIONS

CHAIN = "demo"


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cache_snapshot(path: str | Path) -> dict[str, list[tuple]]:
    """Every row of every content table and the sync state: what 'the cache' means to a screen."""
    conn = sqlite3.connect(str(path))
    try:
        tables = [s.table for s in SECTIONS.values()] + ["sync_state", "consents"]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def sample_content(products: int = 3, *, price: int = 199) -> dict:
    return {
        "products": [{"sku": f"SKU{i:05d}", "name": {"en": f"Product {i}", "bg": f"Продукт {i}", "ru": f"Товар {i}"},
                      "category": "bakery" if i % 2 else "coffee"} for i in range(products)],
        "prices": [{"sku": f"SKU{i:05d}", "price_cents": price + i, "currency": "EUR"} for i in range(products)],
        "offers": [{"id": "OFF1", "priority": 10, "channels": ["kiosk", "signage"],
                    "title": {"en": "Coffee and croissant", "bg": "Кафе и кроасан", "ru": "Кофе и круассан"},
                    "sku": "SKU00000"}],
    }


def reachable(root: object, text: str) -> bool:
    seen, todo = set(), [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        try:
            if isinstance(obj, type | types.ModuleType):
                continue
            if isinstance(obj, str):
                if text in obj:
                    return True
                continue
            if isinstance(obj, types.FunctionType):
                todo.extend(cell.cell_contents for cell in obj.__closure__ or ())
                continue
            todo.extend(gc.get_referents(obj))
        except ReferenceError:  # a dead weak proxy: nothing behind it
            continue
    return False
