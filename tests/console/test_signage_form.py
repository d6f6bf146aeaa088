"""The signage forms' fields and the bundle's items: every playlist and schedule entry of the example chain, and a
layout, come back from their forms unchanged (so opening and saving one changes nothing); the row buttons; numbers
that are not numbers kept as typed for the device's check to name."""

from __future__ import annotations

from pathlib import Path

import yaml

from console import signage_form

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "headoffice.example" / "chain" / "signage.yaml"
LAYOUT = {"id": "lay-split", "orientation": "portrait", "background": "#102030", "zones": [
    {"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 1, "h": 0.75},
    {"id": "menu", "kind": "menu_board", "x": 0, "y": 0.75, "w": 1, "h": 0.25, "playlist": "pl-lunch"}]}


def _fields(parsed: signage_form.Parsed) -> dict[str, str]:
    """The form as the browser sends it."""
    prefix = "item" if parsed.kind == "playlists" else "zone"
    rows = {f"{prefix}.{n}.{k}": v for n, row in enumerate(parsed.rows) for k, v in row.items()}
    return {**parsed.values, **rows, "scope": parsed.scope}


def _round_trip(kind: str, item: dict) -> dict:
    return signage_form.read_form(kind, _fields(signage_form.form_of(kind, "chain", item))).item


def test_every_example_item_comes_back_from_its_form_unchanged():
    example = yaml.safe_load(EXAMPLE.read_text())
    weighted = {"id": "pl-w", "order": "weighted", "items": [{"item": "a", "weight": 3, "duration_s": 12.5}, "b"]}
    for playlist in [*example["playlists"], weighted]:
        assert _round_trip("playlists", playlist) == playlist, playlist["id"]
    for entry in example["schedules"]:
        expected = dict(entry)
        if len(entry.get("weekdays") or ()) == 7:  # every day listed: the same as none
            del expected["weekdays"]
        assert _round_trip("schedules", entry) == expected, entry["id"]
    late = {"id": "sch-late", "playlist": "pl-evening", "priority": 20, "zone": "side", "weekdays": ["fri"],
            "dayparts": [{"from": "22:00", "to": "02:00"}], "dates": [{"from": "2026-12-01", "to": "2026-12-24"},
                                                                      "2026-12-31"],
            "max_per_hour": 12, "default": True}
    assert _round_trip("schedules", late) == late
    assert _round_trip("layouts", LAYOUT) == LAYOUT


def test_the_row_buttons_and_numbers_kept_as_typed():
    parsed = signage_form.form_of("playlists", "chain", {"id": "pl", "items": ["a", "b", "c"]})
    signage_form.edit_rows(parsed, "down:0")
    signage_form.edit_rows(parsed, "remove:2")
    signage_form.edit_rows(parsed, "up:0")  # the first cannot go up: nothing moves
    signage_form.edit_rows(parsed, "remove:9")  # a stale button: nothing happens
    assert parsed.item["items"] == ["b", "a"]
    signage_form.edit_rows(parsed, "add")
    assert parsed.item["items"] == ["b", "a", ""]  # the device's check names the empty one
    layout = signage_form.form_of("layouts", "chain", LAYOUT)
    signage_form.edit_rows(layout, "add")
    assert layout.item["zones"][-1] == {"id": "zone-3", "kind": "playlist", "x": 0, "y": 0, "w": 1, "h": 1}
    typed = signage_form.read_form("playlists", {"id": "pl", "item.0.id": "a", "item.0.weight": "two"})
    assert typed.item["items"] == [{"item": "a", "weight": "two"}]


def _content_fields(item: dict) -> dict[str, str]:
    parsed = signage_form.form_of("content_items", "chain", item)
    return {**parsed.values, "scope": parsed.scope}


def test_every_kind_of_content_item_comes_back_from_its_form_unchanged():
    example = yaml.safe_load(EXAMPLE.read_text())
    poster = {"id": "poster-tea", "kind": "product", "sku": "TEA-001", "text": {"en": "Warm up", "bg": "Стоплете се"},
              "duration_s": 10}
    picture = {"id": "img-cake", "kind": "image", "media": "cake.png", "valid_until": "2027-01-31"}
    for item in [*example["content_items"], poster, picture]:
        assert signage_form.read_form("content_items", _content_fields(item)).item == item, item["id"]


def test_a_content_item_form_keeps_the_fields_of_what_it_shows_only():
    typed = {"id": "txt-sale", "shows": "text", "text.en": "Sale", "text.bg": " ", "text.ru": "Распродажа",
             "media": "cake.png", "sku": "TEA-001", "duration": "six"}
    assert signage_form.read_form("content_items", typed).item == {
        "id": "txt-sale", "kind": "text", "text": {"en": "Sale", "ru": "Распродажа"}, "duration_s": "six"}
