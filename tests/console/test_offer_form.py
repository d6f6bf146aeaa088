"""The offer form's fields and the playbook's offers: every offer of the demo chain comes back from its form
unchanged (so opening and saving an offer changes nothing), the condition builder's and the variants' buttons, the
experiment's arms in their order, and what the form cannot read named instead of dropped."""

from __future__ import annotations

from pathlib import Path

import yaml

from console import offer_form
from console.offer_form import Node

DEMO = Path(__file__).resolve().parents[2] / "config" / "headoffice.example" / "chain" / "offers.yaml"
LANGS = ("en", "bg", "ru")


def _fields(node: Node | None) -> dict[str, str]:
    """The builder's fields as the browser sends them."""
    if node is None:
        return {}
    out = {f"{node.path}.op": node.op} | ({f"{node.path}.not": "1"} if node.negated else {})
    if node.op == "leaf":
        return out | {f"{node.path}.kind": node.kind, f"{node.path}.value": node.value}
    for child in node.children:
        out |= _fields(child)
    return out


def test_every_demo_offer_comes_back_from_its_form_unchanged():
    offers = yaml.safe_load(DEMO.read_text())
    assert len(offers) >= 10
    for offer in offers:
        form = offer_form.form_values(offer) | _fields(offer_form.builder(offer.get("conditions"))) | {"scope": "chain"}
        parsed = offer_form.read_form(form, LANGS)
        expected = dict(offer)
        if len((offer.get("schedule") or {}).get("weekdays") or ()) == 7:  # every day listed: the same as none
            expected["schedule"] = {k: v for k, v in offer["schedule"].items() if k != "weekdays"}
        assert parsed.problems == [], offer["id"]
        assert parsed.offer == expected, offer["id"]


def test_the_builders_buttons():
    cond = offer_form.edit_condition(None, "start")
    assert cond == {"daypart": "morning"}
    cond = offer_form.edit_condition(cond, "wrap")
    assert cond == {"all": [{"daypart": "morning"}, {"daypart": "morning"}]}
    cond = offer_form.edit_condition(cond, "group:c")
    cond = offer_form.edit_condition(cond, "add:c.2")
    assert cond["all"][2] == {"any": [{"daypart": "morning"}, {"daypart": "morning"}]}
    cond = offer_form.edit_condition(cond, "remove:c.0")
    assert len(cond["all"]) == 2
    assert offer_form.edit_condition(cond, "remove:c") is None


def test_what_the_form_cannot_read_is_named():
    parsed = offer_form.read_form({"id": "OFF-X", "cond_mode": "text", "conditions_text": "all: [daypart: morning",
                                   "variant.0.id": "v1", "variant.0.audience": "{segment: [vegan"}, LANGS)
    assert parsed.problems[0].startswith("conditions: not readable as YAML")
    assert parsed.problems[1].startswith("variants[0].audience: not readable as YAML")
    assert offer_form.read_form({"id": "X", "priority": "ninety"}, LANGS).offer["priority"] == "ninety"
    assert not offer_form.drawable({"not": {"not": {"weather": "rain"}}})


def test_the_experiment_keeps_its_arms_order_and_a_variant_is_added_and_removed():
    """The arms' order places shoppers in arms (``decisions/experiments.py``): the form keeps it."""
    offer = {"id": "OFF-X", "variants": [{"id": "a", "title": {"en": "A"}}, {"id": "b", "title": {"en": "B"}}],
             "experiment": {"salt": "s", "holdout_pct": 10, "arms": {"b": 45, "default": 5, "a": 40}}}
    form = offer_form.form_values(offer)
    assert offer_form.arm_ids(offer) == ["b", "default", "a"]
    back = offer_form.read_form({**form, "scope": "chain"}, LANGS).offer
    assert list(back["experiment"]["arms"]) == ["b", "default", "a"] and back["variants"] == offer["variants"]
    off = offer_form.read_form({k: v for k, v in form.items() if k != "exp.on"}, LANGS).offer
    assert "experiment" not in off  # stopped: the variants stay
    offer_form.edit_variants(offer, "variant:add")
    assert [v["id"] for v in offer["variants"]] == ["a", "b", "v1"]
    offer_form.edit_variants(offer, "variant:remove:0")
    assert [v["id"] for v in offer["variants"]] == ["b", "v1"]
