"""Inbound commands: an allow-list of names, each answered on its ``state`` topic; bad input never crashes.

A command arrives on ``<prefix>/<site>/<camera>/<name>/set`` as a JSON object, optionally with a
``request_id`` string that the answer echoes. Handlers take the object and return a
``CommandResult``; anything they raise becomes an error answer. The live service's handlers
are in ``edge.mqtt.handlers``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.mqtt.payloads import CommandResult

log = logging.getLogger(__name__)

CommandHandler = Callable[[dict[str, Any]], CommandResult]

# The only commands a box accepts, and the payload each expects (documentation for operators).
ALLOWED_COMMANDS: Mapping[str, str] = {
    "enforcement": '{"enabled": true|false, "by"?: str} — switch violations, warnings and evidence on or off',
    "mute": '{"muted": true|false, "by"?: str} — mute or unmute the speakers (boards still warn)',
    "test": '{"target": "led"|"speaker"|"all"} — trigger the LED boards / speakers / every output once',
}
MAX_COMMAND_BYTES = 4096


@dataclass(frozen=True)
class CommandAnswer:
    command: str
    result: CommandResult
    request_id: str | None = None


class CommandRouter:
    """Name → handler table, limited to ``ALLOWED_COMMANDS``."""

    def __init__(self) -> None:
        self._handlers: dict[str, CommandHandler] = {}

    def register(self, name: str, handler: CommandHandler) -> None:
        if name not in ALLOWED_COMMANDS:
            raise ValueError(
                f"command '{name}' is not allowed; allowed: {', '.join(sorted(ALLOWED_COMMANDS))}"
            )
        self._handlers[name] = handler

    def handle(self, name: str, raw: bytes) -> CommandAnswer:
        """Parse, check and run one command; always returns an answer."""
        if name not in self._handlers:
            known = ", ".join(sorted(self._handlers)) or "none"
            return _refuse(name, None, f"unknown command '{name}'; this box accepts: {known}")
        try:
            body = _parse(raw)
        except ValueError as exc:
            return _refuse(name, None, str(exc))
        request_id = body.pop("request_id", None)
        if request_id is not None and not isinstance(request_id, str):
            return _refuse(name, None, "request_id must be a string")
        try:
            result = self._handlers[name](body)
        except Exception as exc:  # a handler bug must not take the box down
            log.exception("command %s failed", name)
            return _refuse(name, request_id, f"command failed: {type(exc).__name__}: {exc}")
        if not isinstance(result, CommandResult):
            return _refuse(name, request_id, "command handler returned no result")
        return CommandAnswer(name, result, request_id)


def _parse(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_COMMAND_BYTES:
        raise ValueError(f"payload too large ({len(raw)} bytes, limit {MAX_COMMAND_BYTES})")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"payload is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError(f"payload must be a JSON object, got {type(body).__name__}")
    return body


def _refuse(name: str, request_id: str | None, error: str) -> CommandAnswer:
    log.warning("command %s rejected: %s", name, error)
    return CommandAnswer(name, CommandResult(ok=False, error=error), request_id)
