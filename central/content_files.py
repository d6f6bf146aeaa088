"""Head office's content files: YAML and CSV per scope, checked with the bundle schema, errors by file and line.

Layout of ``content_dir``::

    stores.csv                 store,region,devices  (devices separated by '|'): who gets what; optional columns
                               name,timezone,country,lat,lon describe the store (its store bundle's ``stores``)
    chain/                     files for every store
    region/<r>/  store/<s>/  device/<d>/     files for one region, store or device
    media/                     images and videos the content names by file name

A file is one section named by its stem (``offers.yaml``, ``prices.csv``), or a YAML mapping of
several sections (``signage.yaml`` with ``playlists:`` and ``schedules:``). Sections and fields
are those of ``sync.protocol.content`` (whatever that schema holds when this runs). In CSV, a
column ``name.en`` fills the ``en`` key of the ``name`` object, a list field is split on ``|``,
a cell starting with ``{`` or ``[`` is JSON, and numbers are converted by the field's type.
A media field (``media``, ``image``, a brand's ``logo`` and ``font``) may name a file in ``media/``; it becomes
the file's sha256 and the file is listed in the ``media`` section with its URL, once the devices' checks say a
screen can use it (``sync.protocol.media_check`` for pictures and videos; a logo must be a picture and a font must
load with every letter the screens need, ``sync.protocol.brand.file_problems``).

Every problem is reported as ``<file>:<line>: <section>[<item>] (<id>): <what is wrong with which
field>``, all of them at once, and nothing is published while any remains. Then what each device will
hold (chain, region, store and device merged) is checked with the device's own check
(``sync.protocol.acceptance``): ``<file>:<line>: offer OFF-X: field 'channels': 'kisok' is not one of ...``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import mimetypes
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sync.protocol.acceptance import check_content, item_key, store_problems
from sync.protocol.brand import file_problems
from sync.protocol.content import SECTIONS, SHA256_RE, SHA_FIELDS, ContentError, validate
from sync.protocol.media_check import MediaRefused, check_media
from sync.protocol.topics import is_valid_scope

CONTENT_SUFFIXES = (".yaml", ".yml", ".csv", ".json")
_FIELD_RE = re.compile(r"field '([^']+)'")
_INDEX_RE = re.compile(r"^\w+\[(\d+)\]")


class ContentProblem(ValueError):
    """Head office's files are wrong; one line per problem, each naming file, line and field."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class _Loader(yaml.SafeLoader):
    """Safe YAML, but dates stay text: the bundle schema wants ISO strings, not date objects."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> object:
    """YAML as head office's files are read: safe, dates kept as text (yaml.YAMLError when it does not parse)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


STORE_COLUMNS = ("store", "region", "devices", "name", "timezone", "country", "lat", "lon")
# Head office's own column in staff files: a switched-off staff member stays in the file but goes to no device.
STAFF_ACTIVE = "active"


@dataclass(frozen=True)
class Store:
    store: str
    region: str
    devices: tuple[str, ...]
    name: str = ""  # what the screens' header shows; stores.csv files from before it have none
    timezone: str = ""
    country: str = ""
    lat: float | None = None
    lon: float | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.store

    def identity(self) -> dict | None:
        """The store bundle's ``stores`` item: None while stores.csv says nothing but the store's id and region."""
        if not (self.name or self.timezone or self.country or self.lat is not None):
            return None
        item: dict = {"id": self.store, "name": self.display_name, "region": self.region}
        item |= {k: v for k, v in (("timezone", self.timezone), ("country", self.country)) if v}
        return item | ({"lat": self.lat, "lon": self.lon} if self.lat is not None and self.lon is not None else {})

    def scopes(self) -> list[str]:
        return ["chain", f"region/{self.region}", f"store/{self.store}", *(f"device/{d}" for d in self.devices)]

    def device_scopes(self) -> list[list[str]]:
        """What each device holds, least specific first (the store's own when it lists no device)."""
        shared = ["chain", f"region/{self.region}", f"store/{self.store}"]
        return [[*shared, f"device/{d}"] for d in self.devices] or [shared]


@dataclass
class ScopeContent:
    scope: str
    content: dict[str, list] = field(default_factory=dict)
    # section -> (file, line, {field: line}) per item
    origins: dict[str, list[tuple[str, int, dict[str, int]]]] = field(default_factory=dict)
    media: dict[str, Path] = field(default_factory=dict)  # sha256 -> file


@dataclass
class _Item:
    value: object
    line: int
    field_lines: dict[str, int]


def load_stores(root: Path) -> list[Store]:
    """``stores.csv``, every problem at once by line: the columns after ``devices`` are optional (files from before
    them load as they are), and a store's description is checked as its devices check it."""
    path = root / "stores.csv"
    if not path.exists():
        raise ContentProblem([f"{path}: missing (store,region,devices: which stores there are)"])
    with path.open(newline="", encoding="utf-8") as f:
        return stores_from_csv(f.read(), str(path))


def stores_from_csv(text: str, where: str) -> list[Store]:
    stores: list[Store] = []
    problems: list[str] = []
    lines: dict[str, int] = {}
    owners: dict[str, str] = {}
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for row in reader:
        line = reader.line_num
        store, found = store_from_row(row)
        problems += [f"{where}:{line}: {p}" for p in found]
        if store is None:
            continue
        if store.store in lines:
            problems.append(f"{where}:{line}: store {store.store!r} is listed twice (first on line"
                            f" {lines[store.store]})")
            continue
        lines[store.store] = line
        for device in store.devices:
            if device in owners:
                problems.append(f"{where}:{line}: device {device!r} is already in store {owners[device]}")
            owners.setdefault(device, store.store)
        stores.append(store)
    if problems:
        raise ContentProblem(problems)
    return stores


def store_from_row(row: dict[str | None, str | None]) -> tuple[Store | None, list[str]]:
    """One row of stores.csv as a Store, and what is wrong with it (in words, by field)."""
    cell = {k: (row.get(k) or "").strip() for k in STORE_COLUMNS}
    if not cell["store"] or not cell["region"]:
        return None, ["field 'store' and 'region' are required"]
    problems = [f"field {k!r}: {cell[k]!r} cannot name a scope (no '/', '+' or '#')"
                for k in ("store", "region") if not is_valid_scope(f"{k}/{cell[k]}")]
    if cell["store"].startswith("."):  # it names the store's folder too (store/<id>/): never '..'
        problems.append(f"field 'store': {cell['store']!r} cannot start with '.'")
    devices = tuple(d.strip() for d in cell["devices"].split("|") if d.strip())
    problems += [f"field 'devices': {d!r} cannot name a scope (no '/', '+' or '#')"
                 for d in devices if not is_valid_scope(f"device/{d}")]
    place: dict[str, float] = {}
    for k in ("lat", "lon"):
        try:
            if cell[k]:
                place[k] = float(cell[k])
        except ValueError:
            problems.append(f"field {k!r}: {cell[k]!r} is not a number (degrees, like 42.6977)")
            place[k] = 0.0  # counted as given, so that the pair's check does not repeat the problem
    store = Store(cell["store"], cell["region"], devices, cell["name"], cell["timezone"], cell["country"],
                  place.get("lat"), place.get("lon"))
    described = {"name": store.display_name, "timezone": store.timezone or None, "country": store.country or None}
    problems += store_problems(described | place)
    return (None if problems else store), problems


def load_tree(root: Path, base_url: str, stores: list[Store] = (),
              overlay: Callable[[dict[str, ScopeContent]], None] | None = None) -> dict[str, ScopeContent]:
    """Every scope's content from ``root`` (then changed in place by ``overlay``: the drafts), and what each of
    ``stores``' devices will hold checked as the device checks it; raises ContentProblem listing every problem."""
    scopes: dict[str, ScopeContent] = {}
    problems: list[str] = []
    media = _media_files(root / "media")
    for scope, folder in _scope_folders(root):
        if not is_valid_scope(scope):
            problems.append(f"{folder}: not a valid scope name")
            continue
        sc = scopes[scope] = ScopeContent(scope)
        for path in sorted(p for p in folder.iterdir() if p.suffix in CONTENT_SUFFIXES):
            try:
                sections = _read_file(path)
            except ContentProblem as exc:
                problems.extend(exc.problems)
                continue
            for section, items in sections.items():
                if section == "staff":
                    items = [item for item in items if _on_duty(item)]
                    sc.content.setdefault(section, [])  # all switched off: the snapshot still empties the devices'
                for n, item in enumerate(items):
                    problem = _check_item(path, section, item, n, media, sc, base_url)
                    if problem:
                        problems.append(problem)
                        continue
                    sc.content.setdefault(section, []).append(item.value)
                    sc.origins.setdefault(section, []).append((str(path), item.line, item.field_lines))
    if overlay is not None:
        overlay(scopes)
        for sc in scopes.values():
            problems += _link_overlaid(sc, media)
    for sc in scopes.values():
        if sc.media:
            sc.content["media"] = sc.content.get("media", []) + [
                {"sha256": sha, "url": f"{base_url}/media/{sha}", "size": p.stat().st_size,
                 "mime": mimetypes.guess_type(p.name)[0] or "application/octet-stream"}
                for sha, p in sorted(sc.media.items())]
            sc.origins["media"] = sc.origins.get("media", []) + [(str(p), 0, {}) for _, p in sorted(sc.media.items())]
    for sc in scopes.values():
        try:
            validate(sc.content)
        except ContentError as exc:  # what only the whole section shows: duplicate keys across files
            problems.append(_locate(str(exc), sc))
    problems += check_devices(stores, scopes)
    if problems:
        raise ContentProblem(problems)
    return scopes


def _scope_folders(root: Path) -> list[tuple[str, Path]]:
    """(scope, folder) for every scope folder there is, the chain first."""
    return [(scope, folder) for scope, folder in [("chain", root / "chain")] + [
        (f"{kind}/{d.name}", d) for kind in ("region", "store", "device") if (root / kind).is_dir()
        for d in sorted((root / kind).iterdir())] if folder.is_dir()]


def section_items(root: Path, section: str) -> dict[str, list[tuple[dict, str, int]]]:
    """One section's items in every scope, as the files hold them: scope -> [(item, file, line)], without the rest
    of the tree's checks (a page that shows offers needs the offers files only); ContentProblem when a file that
    holds the section cannot be read."""
    out: dict[str, list[tuple[dict, str, int]]] = {}
    problems: list[str] = []
    for scope, folder in _scope_folders(root):
        if not is_valid_scope(scope):
            continue  # load_tree names it; nothing of it is published
        for path in sorted(p for p in folder.iterdir() if p.suffix in CONTENT_SUFFIXES):
            if path.suffix == ".csv" and path.stem != section:
                continue
            try:
                items = _read_file(path).get(section, [])
            except ContentProblem as exc:
                problems.extend(exc.problems)
                continue
            out.setdefault(scope, []).extend((i.value, str(path), i.line) for i in items if isinstance(i.value, dict))
    if problems:
        raise ContentProblem(problems)
    return out


def check_devices(stores: list[Store], scopes: dict[str, ScopeContent]) -> list[str]:
    """Each device's merged content through the device's own check; each problem once, at the file and
    line of the item that brings it."""
    out: dict[str, None] = {}
    checked: set[tuple[str, ...]] = set()
    for store in stores:
        for chain in store.device_scopes():
            present = tuple(scope for scope in chain if scope in scopes)
            if present in checked:
                continue  # devices and stores with no content of their own share their view with others
            checked.add(present)
            view: dict[str, dict[str, tuple[dict, str, int]]] = {}
            for scope in present:
                for section, items in scopes[scope].content.items():
                    for n, item in enumerate(items):
                        view.setdefault(section, {})[item_key(section, item)] = (item, scope, n)
            merged = {section: [item for item, _, _ in by_key.values()] for section, by_key in view.items()}
            for problem in check_content(merged):
                _, scope, n = view[problem.section][problem.key]
                file, line, field_lines = scopes[scope].origins[problem.section][n]
                m = _FIELD_RE.search(problem.message)
                if m:
                    line = field_lines.get(re.split(r"[.\[]", m.group(1))[0], line)
                out[f"{file}:{line}: {problem}" if line else f"{file}: {problem}"] = None
    return list(out)


def _on_duty(item: _Item) -> bool:
    """Takes head office's ``active`` column off a staff member; False when it says they are switched off."""
    if not isinstance(item.value, dict) or STAFF_ACTIVE not in item.value:
        return True
    return str(item.value.pop(STAFF_ACTIVE)).strip().lower() not in ("false", "no", "0", "")


class MediaUnknown(ValueError):
    """A media field names a file that is not in ``media/`` or that a screen cannot show; the message says which."""


def media_link(media: Mapping[str, Path], name: str) -> tuple[str, Path]:
    """The sha256 and file of the media file ``name`` (``media``: the library's files by name); MediaUnknown when
    there is none or the devices' media check refuses it."""
    file = media.get(name)
    if file is None:
        raise MediaUnknown(f"no media file {name!r} in media/ (and not a sha256)")
    sha = hashlib.sha256(file.read_bytes()).hexdigest()
    refused = _media_refusal(sha, str(file))
    if refused:
        raise MediaUnknown(f"media file {name!r}: a screen cannot show it: {refused}")
    return sha, file


def media_files(root: Path) -> dict[str, Path]:
    """The media library's files by name (``root/media``)."""
    return _media_files(root / "media")


def _link_overlaid(sc: ScopeContent, media: Mapping[str, Path]) -> list[str]:
    """Items the overlay brought (drafts) name media files by name as the files do: each name becomes its sha256."""
    problems = []
    for section, fields in SHA_FIELDS.items():
        items = sc.content.get(section, []) if section != "media" else []
        for n, item in enumerate(items):
            for f in (f for f in fields if isinstance(item.get(f), str) and not SHA256_RE.match(item[f])):
                try:
                    sha, file = media_link(media, item[f])
                except MediaUnknown as exc:
                    problems.append(f"{sc.origins[section][n][0]}: {section}[{n}]: field {f!r}: {exc}")
                    continue
                items[n] = item = {**item, f: sha}
                sc.media[sha] = file
    return problems


def _media_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_file()}


def _check_item(path: Path, section: str, item: _Item, n: int, media: dict[str, Path], sc: ScopeContent,
                base_url: str) -> str | None:
    if section not in SECTIONS:
        return f"{path}:{item.line}: unknown section {section!r} (known: {', '.join(sorted(SECTIONS))})"
    value = item.value
    if isinstance(value, dict):
        for f in SHA_FIELDS[section]:
            ref = value.get(f)
            if isinstance(ref, str) and not SHA256_RE.match(ref) and f != "sha256":
                file = media.get(ref)
                if file is None:
                    return f"{path}:{item.field_lines.get(f, item.line)}: {section}[{n}]: field {f!r}: no media file" \
                           f" {ref!r} in media/ (and not a sha256)"
                wrong = file_problems(f, file) if section == "brand" else []
                if wrong:  # a logo that is no picture, a font that does not load: the screens would drop them
                    return f"{path}:{item.field_lines.get(f, item.line)}: {section}[{n}]: {wrong[0]}"
                sha = hashlib.sha256(file.read_bytes()).hexdigest()
                refused = _media_refusal(sha, str(file))
                if refused:
                    return f"{path}:{item.field_lines.get(f, item.line)}: {section}[{n}]: field {f!r}: media file" \
                           f" {ref!r}: a screen cannot show it: {refused}"
                sc.media[sha] = file
                value[f] = sha
    try:
        validate({section: [value]})
    except ContentError as exc:
        message = str(exc).replace(f"{section}[0]", f"{section}[{n}]", 1)
        m = _FIELD_RE.search(message)
        line = item.field_lines.get(m.group(1), item.line) if m else item.line
        return f"{path}:{line}: {message}"
    return None


@functools.lru_cache(maxsize=4096)
def _media_refusal(sha256: str, path: str) -> str:
    """Why a screen cannot show the file ("" when it can): the devices' own media check, once per sha256 and
    process (the bytes under a sha256 never change)."""
    try:
        check_media(path)
    except MediaRefused as exc:
        return str(exc)
    return ""


def _locate(message: str, sc: ScopeContent) -> str:
    m = _INDEX_RE.match(message)
    section = message.split("[", 1)[0]
    if m and section in sc.origins and int(m.group(1)) < len(sc.origins[section]):
        file, line, _ = sc.origins[section][int(m.group(1))]
        return f"{file}:{line}: {message}"
    return f"{sc.scope}: {message}"


def _read_file(path: Path) -> dict[str, list[_Item]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentProblem([f"{path}: cannot read ({exc})"]) from None
    if path.suffix == ".csv":
        return {path.stem: _read_csv(path, text)}
    if path.suffix == ".json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ContentProblem([f"{path}: not JSON ({exc})"]) from None
        docs = doc if isinstance(doc, dict) else {path.stem: doc}
        return {s: [_Item(v, 0, {}) for v in (items if isinstance(items, list) else [items])]
                for s, items in docs.items()}
    return _read_yaml(path, text)


def _read_yaml(path: Path, text: str) -> dict[str, list[_Item]]:
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise ContentProblem([f"{path}:{line}: YAML syntax error: {getattr(exc, 'problem', exc)}"]) from None
    if node is None:
        return {}
    if isinstance(node, yaml.SequenceNode):
        return {path.stem: _items(path, node, data)}
    if isinstance(node, yaml.MappingNode):
        out = {}
        for (key, value), section in zip(node.value, data, strict=True):
            if not isinstance(value, yaml.SequenceNode):
                raise ContentProblem([f"{path}:{key.start_mark.line + 1}: section {section!r} must be a list"])
            out[section] = _items(path, value, data[section])
        return out
    raise ContentProblem([f"{path}:{node.start_mark.line + 1}: expected a list of items or a mapping of sections"])


def _items(path: Path, node: yaml.SequenceNode, values: list) -> list[_Item]:
    out = []
    for child, value in zip(node.value, values, strict=True):
        lines = {}
        if isinstance(child, yaml.MappingNode):
            lines = {k.value: k.start_mark.line + 1 for k, _ in child.value if isinstance(k, yaml.ScalarNode)}
        out.append(_Item(value, child.start_mark.line + 1, lines))
    return out


def _read_csv(path: Path, text: str) -> list[_Item]:
    section = SECTIONS.get(path.stem)
    if section is None:
        raise ContentProblem([f"{path}:1: unknown section {path.stem!r} (the file's name names its section)"])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    items, problems = [], []
    for row in reader:
        line = reader.line_num
        item: dict = {}
        for column, cell in row.items():
            if column is None or cell is None or cell == "":
                continue
            name, _, sub = column.strip().partition(".")
            try:
                value = field_value(path.stem, name, cell)
            except ValueError as exc:
                problems.append(f"{path}:{line}: {path.stem}: field {name!r}: {exc}")
                continue
            if sub:
                item.setdefault(name, {})[sub] = value
            else:
                item[name] = value
        items.append(_Item(item, line, {}))
    if problems:
        raise ContentProblem(problems)
    return items


def field_value(section: str, name: str, text: str) -> object:
    """A field's value as head office types it in a CSV cell or a console field (a number by the field's type, whole
    cents for ``*_cents``); ValueError saying what is wrong with it."""
    spec = SECTIONS[section].fields.get(name)
    return _cell(text, spec.types if spec else (str,), cents=name.endswith("_cents"))


def _cell(text: str, types: tuple[type, ...], *, cents: bool = False) -> object:
    text = text.strip()
    if text[:1] in "{[" and (dict in types or list in types):
        return json.loads(text)
    if list in types:
        return [p.strip() for p in text.split("|") if p.strip()]
    if bool in types:
        if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise ValueError(f"{text!r} is not true or false")
        return text.lower() in ("true", "yes", "1")
    if int in types:
        try:
            return int(text)
        except ValueError:
            if float in types:
                try:
                    return float(text)
                except ValueError:
                    pass
            if cents and _is_decimal(text):
                raise ValueError(f"{text!r} is not a whole number of cents (for {text} write "
                                 f"{round(float(text) * 100)})") from None
            raise ValueError(f"{text!r} is not a {'whole ' if _is_decimal(text) else ''}number") from None
    return text


def _is_decimal(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
