"""Remote commands on the device's command topic, one handler each.

A command is ``{"command": "<name>", "args": {...}, "expires_at": <unix time>}``. An expired
command is answered with ``expired`` and not run: a screenshot asked for yesterday is
not wanted today. The answer goes to the MQTT 5 ResponseTopic of the request (or the
device's ``cmdresp`` topic) with the request's CorrelationData.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..clock import Clock

Handler = Callable[[dict], dict]


class CommandError(ValueError):
    pass


def parse(raw: bytes, now: float) -> tuple[str, dict]:
    """The command's name and args; CommandError when malformed or expired at ``now`` (unix seconds)."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CommandError("command is not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("command"), str):
        raise CommandError("command must be an object with a 'command' name")
    args = doc.get("args", {})
    if not isinstance(args, dict):
        raise CommandError("'args' must be an object")
    expires = doc.get("expires_at")
    if isinstance(expires, int | float) and not isinstance(expires, bool):
        if now > expires:
            raise CommandError("expired")
    return doc["command"], args


class CommandRegistry:
    """Command names to handlers. The agent registers its own; a screen adds ``screenshot``.

    ``clock`` says whether a command has expired.
    """

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    def handler(self, name: str) -> Handler | None:
        """The handler registered for ``name`` (a screen that extends a built-in command calls it first)."""
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def run(self, raw: bytes) -> dict:
        try:
            name, args = parse(raw, self.clock.time())
        except CommandError as exc:
            return {"ok": False, "error": str(exc)}
        handler = self._handlers.get(name)
        if handler is None:
            return {"ok": False, "command": name, "error": f"unknown command; known: {', '.join(self.names())}"}
        try:
            return {"ok": True, "command": name, "result": handler(args)}
        except Exception as exc:  # the answer says what went wrong; the agent goes on
            return {"ok": False, "command": name, "error": f"{exc.__class__.__name__}: {exc}"}
