"""Logs as JSON lines, one object per line, to stderr (journald) or to a size-rotated file.

Every line has ``ts``, ``level``, ``logger``, ``msg`` and ``device``, plus the ``extra=`` fields of the
call and ``exc`` for a traceback. A file rotates at ``[log] max_bytes`` and keeps ``backups`` old
files, so the logs never take more than ``max_bytes * (backups + 1)`` (xibo#323: a player's
logs grew from 36 MB to 1 GB offline). Known secret values are masked in every line, a second
line of defence behind never logging them.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from .config import LogSection

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
MASK = "***"


class JsonLines(logging.Formatter):
    def __init__(self, device: str = ""):
        super().__init__()
        self.device = device

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "device": self.device,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in doc:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class Masked(logging.Formatter):
    """Another formatter's lines with each known secret value replaced."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]):
        super().__init__()
        self.inner = inner
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        for secret in self.secrets:
            line = line.replace(secret, MASK)
        return line


class StderrHandler(logging.StreamHandler):
    """Writes to the process's own stderr (``sys.__stderr__``, file descriptor 2, which journald reads),
    whatever ``sys.stderr`` has been replaced with since: Kivy replaces it with a stream that logs each
    line (a handler writing there would call itself), and a test's capture closes its stream afterwards."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.__stderr__ or sys.stderr


def setup_logging(section: LogSection | None = None, *, device: str = "", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once per process; without a section, JSON lines at INFO to stderr."""
    section = section or LogSection()
    if section.file:
        Path(section.file).parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            section.file, maxBytes=section.max_bytes, backupCount=section.backups, encoding="utf-8")
    else:
        handler = StderrHandler()
    inner = (JsonLines(device) if section.format == "json"
             else logging.Formatter(f"%(asctime)s %(levelname)s %(name)s [{device}]: %(message)s"))
    handler.setFormatter(Masked(inner, secrets))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(section.level.upper())
