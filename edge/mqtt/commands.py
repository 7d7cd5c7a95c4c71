"""Inbound commands: an allow-list of names, each answered on its ``state`` topic; bad input never crashes.

A command arrives on ``<prefix>/<site>/<camera>/<name>/set`` as a JSON object, optionally with a
``request_id`` string that the answer echoes. Handlers take the object and return a
``CommandResult``; anything they raise becomes an error answer. The live service's handlers
are in ``edge.mqtt.handlers``.

Only the centre may command a box: every command carries ``issued`` (Unix seconds), a fresh
``nonce`` and ``sig``, the HMAC-SHA256 under a key shared by the centre and the box (the box's
``mqtt.command_key_env`` or ``mqtt.command_key_file``) of the canonical JSON of the topic and the
body (``canonical``). A command issued more than ``COMMAND_MAX_AGE_S`` away from the box's clock,
or whose nonce the box has already seen, is refused, so a captured command cannot be replayed.
``sign_command`` is what the centre (``crossguard command``) and the tests sign with. A box
without a key refuses every command.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.config.mqtt import MqttConfig
from edge.logtext import printable
from edge.mqtt.inbound import PayloadError, parse_json
from edge.mqtt.payloads import CommandResult

log = logging.getLogger(__name__)

CommandHandler = Callable[[dict[str, Any]], CommandResult]

# The only commands a box accepts, and the payload each expects (documentation for operators).
ALLOWED_COMMANDS: Mapping[str, str] = {
    "enforcement": '{"enabled": true|false, "by"?: str} — switch violations, warnings and evidence on or off',
    "mute": '{"muted": true|false, "by"?: str} — mute or unmute the speakers (boards still warn)',
    "test": '{"target": "led"|"speaker"|"lights"|"controller"|"all"} — trigger the boards / speakers / ground lights'
    ' / read the signal controller (no call) / every output',
    "announce": '{"text": str, "language"?: str, "wav"?: str, "urgent"?: bool, "by"?: str} — speak on the speakers',
}
MAX_COMMAND_BYTES = 4096
MAX_COMMAND_DEPTH = 4  # command bodies are flat objects; deeper nesting is never a real command
# How far a command's ``issued`` may be from the box's clock; also how long a nonce is remembered.
# Large enough for queueing at the broker and unsynchronised clocks, small enough to bound replay.
COMMAND_MAX_AGE_S = 120.0
MIN_KEY_CHARS = 32  # e.g. `openssl rand -hex 32` (64 characters)
AUTH_KEYS = ("issued", "nonce", "sig")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
REFUSAL_LOG_INTERVAL_S = 60.0  # refused commands are logged at most once per command name per interval


def canonical(topic: str, body: Mapping[str, Any]) -> bytes:
    """What a command's ``sig`` covers: its topic (so it is valid for one box and one command) and body."""
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    return json.dumps({"topic": topic, "body": unsigned}, sort_keys=True, separators=(",", ":")).encode()


def sign_command(key: bytes, topic: str, body: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
    """``body`` with ``issued``, a fresh ``nonce`` and its ``sig``: ready to publish on ``topic``."""
    issued = time.time() if now is None else now
    signed = {**body, "issued": round(issued, 3), "nonce": secrets.token_hex(16)}
    signed["sig"] = hmac.new(key, canonical(topic, signed), hashlib.sha256).hexdigest()
    return signed


def read_command_key(env: str | None, file: Path | None) -> tuple[bytes | None, str]:
    """The key named by an environment variable or a file, or None and why there is none."""
    if env is None and file is None:
        return None, "no command key configured (mqtt.command_key_env or mqtt.command_key_file)"
    if env is not None:
        text, where = os.environ.get(env, ""), f"environment variable {env}"
    else:
        try:
            text, where = Path(file).read_text(encoding="utf-8").strip(), str(file)  # type: ignore[arg-type]
        except (OSError, UnicodeDecodeError) as exc:
            return None, f"command key file {file} unreadable: {exc}"
    if len(text) < MIN_KEY_CHARS:
        return None, f"command key in {where} is missing or shorter than {MIN_KEY_CHARS} characters"
    return text.encode(), ""


@dataclass
class CommandVerifier:
    """Checks a command's signature, age and nonce for one box (``base`` is ``<prefix>/<site>/<camera>``)."""

    key: bytes | None
    base: str
    missing_reason: str = "no command key configured"
    clock: Callable[[], float] = time.time
    _seen: dict[str, float] = field(default_factory=dict)  # nonce → issued, within COMMAND_MAX_AGE_S
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # The nonces seen live in memory only: commands issued before this box started are refused, so
    # a restart does not reopen the replay window.
    _started: float = field(init=False)

    def __post_init__(self) -> None:
        self._started = self.clock()

    @classmethod
    def from_config(cls, config: MqttConfig, base: str) -> CommandVerifier:
        key, why = read_command_key(config.command_key_env, config.command_key_file)
        if key is None and config.enabled:
            log.warning("mqtt: every command from the centre will be refused: %s", why)
        return cls(key, base, why)

    def check(self, name: str, body: dict[str, Any]) -> str:
        """'' if the command is the centre's and fresh, else why not; removes the signature keys from ``body``."""
        auth = {k: body.pop(k, None) for k in AUTH_KEYS}
        if self.key is None:
            return f"commands are refused: {self.missing_reason}"
        issued, nonce, sig = auth["issued"], auth["nonce"], auth["sig"]
        if not isinstance(sig, str) or not isinstance(nonce, str) or not _NONCE.match(nonce):
            return "unsigned command: 'issued', 'nonce' (16-64 letters, digits, - or _) and 'sig' are required"
        if isinstance(issued, bool) or not isinstance(issued, (int, float)) or not math.isfinite(issued):
            return "unsigned command: 'issued' must be Unix seconds"
        expected = hmac.new(self.key, canonical(f"{self.base}/{name}/set", {**body, **auth}), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), sig):
            return "bad signature: not signed with this box's command key"
        now = self.clock()
        if abs(now - issued) > COMMAND_MAX_AGE_S:
            return f"command issued {now - issued:+.0f} s from now; accepted within ±{COMMAND_MAX_AGE_S:g} s"
        if issued + 0.001 < self._started:  # ``issued`` is rounded to the millisecond
            return "command issued before this box started (it may be a replay); send a new one"
        with self._lock:
            self._seen = {n: t for n, t in self._seen.items() if abs(now - t) <= COMMAND_MAX_AGE_S}
            if nonce in self._seen:
                return "replayed command: this nonce was already used"
            self._seen[nonce] = issued
        return ""


@dataclass(frozen=True)
class CommandAnswer:
    command: str
    result: CommandResult
    request_id: str | None = None


class CommandRouter:
    """Name → handler table, limited to ``ALLOWED_COMMANDS``; runs only commands ``verifier`` accepts."""

    def __init__(self, verifier: CommandVerifier) -> None:
        self.verifier = verifier
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
        unauthorised = self.verifier.check(name, body)
        if unauthorised:  # the request id is echoed so a sender learns why its command was refused
            echoed = body.get("request_id")
            return _refuse(name, echoed if isinstance(echoed, str) else None, unauthorised)
        request_id = body.pop("request_id", None)
        if request_id is not None and not isinstance(request_id, str):
            return _refuse(name, None, "request_id must be a string")
        try:
            result = self._handlers[name](body)
        except Exception as exc:  # a handler bug must not take the box down
            log.exception("command %s failed", printable(name))
            return _refuse(name, request_id, f"command failed: {type(exc).__name__}: {exc}")
        if not isinstance(result, CommandResult):
            return _refuse(name, request_id, "command handler returned no result")
        return CommandAnswer(name, result, request_id)


def _parse(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_COMMAND_BYTES:
        raise ValueError(f"payload too large ({len(raw)} bytes, limit {MAX_COMMAND_BYTES})")
    try:
        body = parse_json(raw, MAX_COMMAND_BYTES, MAX_COMMAND_DEPTH)
    except PayloadError as exc:
        raise ValueError(f"payload is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError(f"payload must be a JSON object, got {type(body).__name__}")
    return body


_refusals: dict[str, tuple[float, int]] = {}  # command name → (when last logged, refusals not logged since)


def _refuse(name: str, request_id: str | None, error: str) -> CommandAnswer:
    """Answered every time; logged at most once per command name per ``REFUSAL_LOG_INTERVAL_S``."""
    key = name if name in ALLOWED_COMMANDS else "(unknown)"  # the name comes from the topic: anyone's choice
    now = time.monotonic()
    last, unlogged = _refusals.get(key, (-math.inf, 0))
    if now - last >= REFUSAL_LOG_INTERVAL_S:
        more = f" ({unlogged} more refused since the last line)" if unlogged else ""
        log.warning("command %s rejected: %s%s", printable(name), printable(error), more)
        _refusals[key] = (now, 0)
    else:
        _refusals[key] = (last, unlogged + 1)
    return CommandAnswer(name, CommandResult(ok=False, error=error), request_id)
