"""Log setup for the service: plain text for a terminal, or one JSON object per line for a collector."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def hide_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it replaced by ``***``."""
    return re.sub(r"//([^:/@\s]+):[^@/\s]*@", r"//\1:***@", text)


class PasswordMasking(logging.Formatter):
    """Any formatter's output with URL passwords hidden: messages, fields and tracebacks alike."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return hide_passwords(self.inner.format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(fmt: str = "text", verbose: bool = False) -> None:
    """Replace the root handlers: text (``asctime level name: msg``) or JSON lines, on stderr."""
    handler = logging.StreamHandler()
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(PasswordMasking(formatter))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # scrapes every few seconds are noise
