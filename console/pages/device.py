"""One device (technician, admin; a store manager for their own stores): its state, a health history chart,
its recent events, and buttons that send it a command over MQTT and show the answer (central.commands).
Every command is audited."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from central.commands import COMMANDS, CommandResult
from central.device_history import health_history, recent_events
from central.fleet import FleetFilter, find_devices

from .. import session
from ..charts import byte_size, line_chart, plain
from ..render import FLEET_ROLES, ago, page, when
from .signin import Form

GUARDS = [session.allow(*FLEET_ROLES)]
WINDOWS = {"6h": 6 * 3600, "24h": 86_400, "7d": 7 * 86_400}
Window = Annotated[Literal["6h", "24h", "7d"], QueryParameter(name="window")]
COMMAND_TIMEOUT_S = 10.0
COMMAND_WORDS = {"screenshot": "Screenshot", "identify": "Identify", "reload": "Reload",
                 "report_health": "Report health"}
ARGS = {"identify": {"seconds": 10}, "screenshot": {"width": 480}}


def _device(request: Request, store: str, device: str):
    c = session.console(request)
    session.check_store(request.state.user, store)
    c.roster.refresh(c.db)
    found = find_devices(c.db, now=c.clock.time(), stale_after_s=c.central.central.stale_after_s,
                         where=FleetFilter(store=store))
    row = next((r for r in found.rows if r.device == device), None)
    if row is None:
        raise NotFoundException(f"no device {device} in store {store}")
    return row


def _charts(request: Request, store: str, device: str, window: str) -> list:
    c = session.console(request)
    end = c.clock.time()
    start = end - WINDOWS[window]
    points = health_history(c.db, store, device, since=start, until=end)
    series = (("Frames per second", "fps", plain), ("Memory (RSS)", "rss_bytes", byte_size),
              ("Disk used by store-edge", "disk_used_bytes", byte_size), ("Free disk", "disk_free_bytes", byte_size),
              ("Outbox depth (events waiting)", "outbox_rows", plain))
    charts = []
    for title, name, fmt in series:
        values = [(p.at, float(getattr(p, name))) for p in points if getattr(p, name) is not None]
        if values or name in ("rss_bytes", "outbox_rows"):  # fps and free disk only from devices that report them
            charts.append((title, line_chart(values, title=f"{title}, last {window}", start=start, end=end, fmt=fmt)))
    return charts


def _page(request: Request, store: str, device: str, window: str, *, result: tuple[str, CommandResult] | None = None,
          status: int = 200) -> Template:
    c = session.console(request)
    row = _device(request, store, device)
    return page(request, "device.html", status=status, r=row, window=window, windows=list(WINDOWS),
                charts=_charts(request, store, device, window), events=recent_events(c.db, store, device),
                commands=COMMAND_WORDS, command=result[0] if result else "", result=result[1] if result else None,
                words=COMMAND_WORDS.get(result[0], "") if result else "", screenshot=_screenshot(result),
                now=c.clock.time(), ago=ago, when=when)


def _screenshot(result: tuple[str, CommandResult] | None) -> str | None:
    """A screenshot's PNG as a data: address (the only images the policy allows besides the console's own)."""
    if not result or result[0] != "screenshot" or not result[1].answered:
        return None
    encoded = result[1].result.get("png_base64")
    try:
        png = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
    except (binascii.Error, ValueError):
        return None
    return f"data:image/png;base64,{encoded}" if png.startswith(b"\x89PNG\r\n\x1a\n") else None


@get("/fleet/{store:str}/{device:str}", sync_to_thread=True, guards=GUARDS)
def device_page(request: Request, store: FromPath[str], device: FromPath[str], window: Window = "24h") -> Template:
    return _page(request, store, device, window)


@post("/fleet/{store:str}/{device:str}/command", sync_to_thread=True, guards=GUARDS)
def send_command(request: Request, store: FromPath[str], device: FromPath[str], data: Form) -> Template:
    """Sends the command and waits for the answer (at most COMMAND_TIMEOUT_S); htmx swaps in the result."""
    c = session.console(request)
    row = _device(request, store, device)
    name = data.get("command", "")
    if name not in COMMANDS:
        result = CommandResult("failed", f"there is no command {name!r}; use the page's buttons")
        return _result(request, row.store, row.device, name, result, status=400)
    result = c.commands.send(row.store, row.device, name, ARGS.get(name), timeout_s=COMMAND_TIMEOUT_S)
    c.record(request, "device.command", f"device/{row.store}/{row.device}", f"{name}: {result.status}"
             + ("" if result.answered else f" ({result.detail})"))
    return _result(request, row.store, row.device, name, result)


def _result(request: Request, store: str, device: str, name: str, result: CommandResult, *,
            status: int = 200) -> Template:
    if request.headers.get("HX-Request"):
        return page(request, "_command_result.html", status=status, command=name, words=COMMAND_WORDS.get(name, name),
                    result=result, screenshot=_screenshot((name, result)), device=device)
    return _page(request, store, device, "24h", result=(name, result), status=status)


ROUTES = [device_page, send_command]
