"""The offer form's fields to a playbook offer and back, and its condition builder.

Every field of the playbook's offer (``decisions/playbook.py``) has a place: id, where (scope), priority,
channels, the copy per language, the product, the condition, the schedule, the caps, the discount, the benefit,
the variants, the experiment and ``adaptive`` (the bandit). Numbers that are not numbers are kept as typed, so
that the device's check names them instead of the form dropping them.

The condition is a tree of nodes named by path (``c``, ``c.0``, ``c.0.1``): ``<path>.op`` is ``all``, ``any`` or
``leaf``; ``<path>.not`` wraps the node in ``not``; a leaf has ``<path>.kind`` (one of the engine's leaves) and
``<path>.value`` (YAML: ``morning``, ``[sat, sun]``, ``{max: 8}``). The text view (``conditions_text``) is the
same tree as YAML, for power users and for what the builder cannot draw (a ``not`` of a ``not``).

Variants are ``variant.<n>.id``, ``variant.<n>.title.<lang>`` and ``variant.<n>.audience`` (a condition as YAML);
the experiment is ``exp.on``, ``exp.salt``, ``exp.holdout`` and ``exp.arm.<arm>`` (each arm's share), with
``exp.order`` keeping the arms' order; ``adaptive`` is the bandit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from central.content_files import load_yaml
from decisions.conditions import LEAVES
from decisions.context import CHANNELS, WEEKDAYS
from decisions.playbook import CAP_KEYS

LEAF_KINDS = tuple(sorted(LEAVES))
BENEFIT_TYPES = ("combo", "percent_off", "free_item", "highlight", "points_multiplier")
_BENEFIT_OWN = ("type", "skus", "price_cents")
_INT = re.compile(r"-?\d+")
_HOURS = re.compile(r"^\s*(\S+)\s*[-–]\s*(\S+)\s*$")


@dataclass
class Node:
    """One node of the builder as the template draws it."""

    path: str
    op: str  # all, any, leaf
    negated: bool = False
    kind: str = ""
    value: str = ""
    children: list[Node] = field(default_factory=list)


def _load(text: str, where: str, problems: list[str]) -> object:
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(f"{where}: not readable as YAML{f' (line {mark.line + 1})' if mark else ''}:"
                        f" {getattr(exc, 'problem', None) or exc}")
        return None


def _number(text: str) -> object:
    text = text.strip()
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text  # as typed: the device's check says what is wrong with it


def _list(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[|,]", text) if p.strip()]


def value_text(value: object) -> str:
    """A leaf's value as the builder shows it: a plain word as it is, anything else as JSON (YAML reads both)."""
    if isinstance(value, str):
        try:
            if load_yaml(value) == value:
                return value
        except yaml.YAMLError:
            pass  # a word YAML would misread (a colon, a bracket): quoted below
    return json.dumps(value, ensure_ascii=False)


def condition_from_fields(form: Mapping[str, str], path: str, problems: list[str]) -> object:
    op = form.get(f"{path}.op", "")
    if op in ("all", "any"):
        indexes = sorted({int(m.group(1)) for k in form if (m := re.fullmatch(re.escape(path) + r"\.(\d+)\.op", k))})
        node: object = {op: [c for i in indexes if (c := condition_from_fields(form, f"{path}.{i}", problems))
                             is not None]}
    elif op == "leaf":
        kind = form.get(f"{path}.kind", "")
        raw = form.get(f"{path}.value", "")
        node = {kind: _load(raw, f"conditions: {kind}", problems) if raw.strip() else None}
    else:
        return None
    return {"not": node} if form.get(f"{path}.not") else node


def drawable(cond: object) -> bool:
    """Whether the builder can draw this tree (else the text view shows it)."""
    if cond is None:
        return True
    if not isinstance(cond, dict) or len(cond) != 1:
        return False
    (kind, value), = cond.items()
    if kind == "not":
        return isinstance(value, dict) and "not" not in value and drawable(value)
    if kind in ("all", "any"):
        return isinstance(value, list) and all(drawable(c) for c in value)
    return True


def builder(cond: object, path: str = "c") -> Node | None:
    if cond is None:
        return None
    (kind, value), = cond.items()
    negated = kind == "not"
    if negated:
        (kind, value), = value.items()
    if kind in ("all", "any"):
        return Node(path, kind, negated, children=[builder(c, f"{path}.{i}") for i, c in enumerate(value)])
    return Node(path, "leaf", negated, kind, "" if value is None else value_text(value))


def edit_condition(cond: object, edit: str) -> object:
    """A builder button: ``add:<path>`` (a condition in a group), ``group:<path>`` (a group in a group),
    ``remove:<path>``, ``start`` (the first condition), ``wrap`` (a lone condition and a new one, in an 'all' group)."""
    action, _, path = edit.partition(":")
    new_leaf = {"daypart": "morning"}
    if action == "start" or cond is None:
        return new_leaf if action in ("start", "add") else cond
    if action == "wrap":
        return {"all": [cond, new_leaf]}
    steps = [int(p) for p in path.split(".")[1:] if p.isdigit()]
    if action == "remove" and not steps:
        return None
    parent, target = None, cond
    for i in steps:
        parent = target
        target = _inner(target)
        target = next(iter(target.values()))[i]
    if action == "remove":
        siblings = next(iter(_inner(parent).values()))
        siblings.pop(steps[-1])
        return cond
    group = next(iter(_inner(target).values()), None)
    if isinstance(group, list):
        group.append(new_leaf if action == "add" else {"any": [new_leaf]})
    return cond


def _inner(node: dict) -> dict:
    return node["not"] if "not" in node else node


@dataclass
class Parsed:
    scope: str
    offer: dict
    problems: list[str]  # what the form itself could not read (the device's check comes after)
    condition: object
    text_mode: bool


def read_form(form: Mapping[str, str], languages: tuple[str, ...]) -> Parsed:
    problems: list[str] = []
    text_mode = form.get("cond_mode") == "text"
    if text_mode:
        text = form.get("conditions_text", "")
        cond = _load(text, "conditions", problems) if text.strip() else None
    else:
        cond = condition_from_fields(form, "c", problems)
    offer: dict = {"id": form.get("id", "").strip()}
    if form.get("priority", "").strip():
        offer["priority"] = _number(form["priority"])
    offer["channels"] = [c for c in CHANNELS if form.get(f"channel.{c}")]
    offer["title"] = {lang: form.get(f"title.{lang}", "").strip() for lang in languages
                      if form.get(f"title.{lang}", "").strip()}
    if form.get("sku", "").strip():
        offer["sku"] = form["sku"].strip()
    if cond is not None:
        offer["conditions"] = cond
    schedule: dict = {k: form[f"schedule.{k}"].strip() for k in ("from", "to") if form.get(f"schedule.{k}", "").strip()}
    days = [d for d in WEEKDAYS if form.get(f"weekday.{d}")]
    if days and len(days) < len(WEEKDAYS):
        schedule["weekdays"] = days
    hours = []
    for part in _list(form.get("schedule.hours", "").replace(";", ",")):
        m = _HOURS.match(part)
        hours.append({"from": m.group(1), "to": m.group(2)} if m else {"from": part})
    if hours:
        schedule["hours"] = hours
    if schedule:
        offer["schedule"] = schedule
    caps = {k: _number(form[f"caps.{k}"]) for k in CAP_KEYS if form.get(f"caps.{k}", "").strip()}
    if caps:
        offer["caps"] = caps
    if form.get("discount.percent", "").strip():
        offer["discount"] = {"percent": _number(form["discount.percent"])}
    benefit: dict = {}
    if form.get("benefit.type", "").strip():
        benefit["type"] = form["benefit.type"].strip()
    if _list(form.get("benefit.skus", "")):
        benefit["skus"] = _list(form["benefit.skus"])
    if form.get("benefit.price_cents", "").strip():
        benefit["price_cents"] = _number(form["benefit.price_cents"])
    more = form.get("benefit.more", "")
    if more.strip():
        terms = _load(more, "benefit: more terms", problems)
        if isinstance(terms, dict):
            benefit.update({k: v for k, v in terms.items() if k not in _BENEFIT_OWN})
        elif terms is not None:
            problems.append("benefit: more terms: write them as 'name: value' lines")
    if benefit:
        offer["benefit"] = benefit
    _read_variants(form, languages, offer, problems)
    return Parsed(form.get("scope", "chain") or "chain", offer, problems, cond, text_mode or not drawable(cond))


def form_values(offer: Mapping) -> dict[str, str]:
    """The form's fields for an offer (the condition is drawn from the offer itself)."""
    out = {"id": str(offer.get("id", "")), "priority": str(offer.get("priority", ""))}
    out |= {f"channel.{c}": "1" for c in offer.get("channels") or () if isinstance(c, str)}
    title = offer.get("title") if isinstance(offer.get("title"), dict) else {}
    out |= {f"title.{lang}": str(text) for lang, text in title.items()}
    if offer.get("sku"):
        out["sku"] = str(offer["sku"])
    schedule = offer.get("schedule") if isinstance(offer.get("schedule"), dict) else {}
    out |= {f"schedule.{k}": str(schedule[k]) for k in ("from", "to") if k in schedule}
    days = schedule.get("weekdays") if isinstance(schedule.get("weekdays"), list) else list(WEEKDAYS)
    out |= {f"weekday.{d}": "1" for d in days if isinstance(d, str)}
    out["schedule.hours"] = ", ".join(f"{h.get('from', '')}-{h.get('to', '')}" for h in schedule.get("hours") or []
                                      if isinstance(h, dict))
    caps = offer.get("caps") if isinstance(offer.get("caps"), dict) else {}
    out |= {f"caps.{k}": str(v) for k, v in caps.items()}
    discount = offer.get("discount") if isinstance(offer.get("discount"), dict) else {}
    if "percent" in discount:
        out["discount.percent"] = str(discount["percent"])
    benefit = offer.get("benefit") if isinstance(offer.get("benefit"), dict) else {}
    if "type" in benefit:
        out["benefit.type"] = str(benefit["type"])
    if isinstance(benefit.get("skus"), list):
        out["benefit.skus"] = " | ".join(map(str, benefit["skus"]))
    if "price_cents" in benefit:
        out["benefit.price_cents"] = str(benefit["price_cents"])
    rest = {k: v for k, v in benefit.items() if k not in _BENEFIT_OWN}
    out["benefit.more"] = yaml.safe_dump(rest, allow_unicode=True, sort_keys=False) if rest else ""
    return out | _variant_values(offer)


def _read_variants(form: Mapping[str, str], languages: tuple[str, ...], offer: dict, problems: list[str]) -> None:
    """Variants (id, copy per language, audience as YAML), the experiment (salt, holdout share, a share per arm,
    in the order the offer had them: the order places shoppers in arms) and the bandit."""
    variants = []
    for i in sorted({int(m.group(1)) for k in form if (m := re.fullmatch(r"variant\.(\d+)\.id", k))}):
        variant: dict = {"id": form[f"variant.{i}.id"].strip(),
                         "title": {lang: form.get(f"variant.{i}.title.{lang}", "").strip() for lang in languages
                                   if form.get(f"variant.{i}.title.{lang}", "").strip()}}
        audience = form.get(f"variant.{i}.audience", "")
        if audience.strip():
            variant["audience"] = _load(audience, f"variants[{i}].audience", problems)
        variants.append(variant)
    if variants:
        offer["variants"] = variants
    if form.get("exp.on"):
        arms = [k.removeprefix("exp.arm.") for k in form if k.startswith("exp.arm.")]
        order = [a for a in form.get("exp.order", "").split(",") if a in arms]
        experiment: dict = {"salt": form.get("exp.salt", "").strip()}
        if form.get("exp.holdout", "").strip():
            experiment["holdout_pct"] = _number(form["exp.holdout"])
        experiment["arms"] = {a: _number(form[f"exp.arm.{a}"]) for a in [*order, *(a for a in arms if a not in order)]
                              if form[f"exp.arm.{a}"].strip()}
        offer["experiment"] = experiment
    if form.get("adaptive"):
        offer["adaptive"] = True


def arm_ids(offer: Mapping) -> list[str]:
    """The arms the experiment editor offers: the experiment's own (in its order), then the offer's own copy and
    each variant that has none yet."""
    experiment = offer.get("experiment") if isinstance(offer.get("experiment"), dict) else {}
    arms = experiment.get("arms") if isinstance(experiment.get("arms"), dict) else {}
    variants = [v.get("id") for v in _variants(offer)]
    return list(dict.fromkeys([*map(str, arms), "default", *(str(v) for v in variants if v)]))


def _variants(offer: Mapping) -> list[dict]:
    return [v for v in offer.get("variants") or [] if isinstance(v, dict)] if isinstance(offer.get("variants"),
                                                                                        list) else []


def _variant_values(offer: Mapping) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, v in enumerate(_variants(offer)):
        out[f"variant.{i}.id"] = str(v.get("id", ""))
        title = v.get("title") if isinstance(v.get("title"), dict) else {}
        out |= {f"variant.{i}.title.{lang}": str(text) for lang, text in title.items()}
        if "audience" in v:
            out[f"variant.{i}.audience"] = value_text(v["audience"])
    experiment = offer.get("experiment")
    if isinstance(experiment, dict):
        arms = experiment.get("arms") if isinstance(experiment.get("arms"), dict) else {}
        out |= {"exp.on": "1", "exp.salt": str(experiment.get("salt", "")), "exp.order": ",".join(map(str, arms))}
        if "holdout_pct" in experiment:
            out["exp.holdout"] = str(experiment["holdout_pct"])
        out |= {f"exp.arm.{a}": str(share) for a, share in arms.items()}
    if offer.get("adaptive") is True:
        out["adaptive"] = "1"
    return out


def edit_variants(offer: dict, edit: str) -> None:
    """``variant:add`` (a variant with no copy yet) or ``variant:remove:<n>``."""
    variants = _variants(offer)
    if edit == "variant:add":
        taken = {v.get("id") for v in variants}
        variants.append({"id": next(f"v{n}" for n in range(1, len(variants) + 2) if f"v{n}" not in taken),
                         "title": {}})
    elif edit.startswith("variant:remove:") and edit.rpartition(":")[2].isdigit():
        n = int(edit.rpartition(":")[2])
        if n < len(variants):
            variants.pop(n)
    if variants:
        offer["variants"] = variants
    else:
        offer.pop("variants", None)


def condition_text(cond: object) -> str:
    return yaml.safe_dump(cond, allow_unicode=True, sort_keys=False) if cond is not None else ""
