"""The allow-listed commands on a live box: ``enforcement``, ``mute``, ``test`` and ``announce``.

The reporter runs handlers on its own command thread, never on paho's network thread, one at a
time in arrival order. ``enforcement`` and ``mute`` only record the operator's wish in
``edge.operator.OperatorControls`` (which saves it); the frame loop applies an enforcement change
at the next frame, and the answer waits up to ``APPLY_WAIT_S`` for that so it can say whether it
is in force. ``test`` waits for the devices' own answers (each bounded by the device's
``command_ttl_s + timeout_s``), so later commands wait behind it, but the MQTT link does not.

Every answer's ``state`` is the resulting state (schema ``command_state.json``); a body with a
missing, mistyped or unknown key is refused with an error naming it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from edge.announce import Announcement, AnnouncementDesk, AnnounceRefused
from edge.logtext import printable
from edge.mqtt.commands import CommandHandler
from edge.mqtt.payloads import CommandResult, iso_utc
from edge.operator import Change, OperatorControls

APPLY_WAIT_S = 2.0
CHANNEL = "mqtt"
MAX_BY_CHARS = 64
# target → what it covers
TEST_TARGETS = {"led": "LED board", "speaker": "speaker", "lights": "ground light", "controller": "signal controller",
                "all": "output device"}  # fmt: skip


class Refused(ValueError):
    """A command body that cannot be carried out; the text is the answer's error."""


class OperatorCommands:
    """Handlers bound to the service's operator switches and (optional) actuator hub."""

    def __init__(
        self,
        controls: OperatorControls,
        hub: Any | None,
        apply_wait_s: float = APPLY_WAIT_S,
        announcements: AnnouncementDesk | None = None,
    ) -> None:
        self.controls = controls
        self.hub = hub
        self.apply_wait_s = apply_wait_s
        self.announcements = announcements

    def register(self, reporter: Any) -> None:
        handlers = [("enforcement", self.enforcement), ("mute", self.mute), ("test", self.test)]
        if self.announcements is not None:
            handlers.append(("announce", self.announce))
        for name, handler in handlers:
            reporter.on_command(name, _refusals_answered(handler))

    def announce(self, body: dict[str, Any]) -> CommandResult:
        """Speak text (or play a named recording) on every speaker; refused in quiet hours unless urgent."""
        _only(body, ("text", "language", "wav", "urgent", "by"))
        text, language = body.get("text", ""), body.get("language", "en")
        wav, urgent = body.get("wav"), body.get("urgent", False)
        if not isinstance(text, str) or not isinstance(language, str) or not isinstance(urgent, bool):
            raise Refused("'text' and 'language' must be strings and 'urgent' true or false")
        if wav is not None and not isinstance(wav, str):
            raise Refused("'wav' must be the name of a recording")
        if wav is None and not text:
            raise Refused("'text' (or 'wav') is required")
        assert self.announcements is not None
        request = Announcement(text, language, wav, urgent, _by(body), CHANNEL)
        try:
            outcome = self.announcements.announce(request)
        except AnnounceRefused as exc:
            raise Refused(str(exc)) from None
        state = {"speakers": outcome.speakers, "urgent": urgent, "volume": round(outcome.volume, 3), "by": request.by}
        return CommandResult(True, state)

    def enforcement(self, body: dict[str, Any]) -> CommandResult:
        enabled = _flag(body, "enabled", allowed=("enabled", "by"))
        change = self.controls.set_enforcement(enabled, _by(body), time.time())
        applied = self.controls.wait_applied(change.request, self.apply_wait_s)
        switch = change.state.enforcement
        state = {"enabled": switch.enabled, **_who(switch.by, switch.utc), "applied": applied, **_saved(change)}
        return CommandResult(True, state)

    def mute(self, body: dict[str, Any]) -> CommandResult:
        muted = _flag(body, "muted", allowed=("muted", "by"))
        change = self.controls.set_muted(muted, _by(body), time.time())
        switch = change.state.mute
        speakers = self.hub.devices_for("speaker") if self.hub is not None else []
        state = {"muted": switch.muted, **_who(switch.by, switch.utc), "speakers": speakers, **_saved(change)}
        return CommandResult(True, state)

    def test(self, body: dict[str, Any]) -> CommandResult:
        _only(body, ("target",))
        target = body.get("target")
        if not isinstance(target, str) or target not in TEST_TARGETS:
            raise Refused(f"'target' must be one of {', '.join(TEST_TARGETS)}; got {target!r}")
        names = self.hub.devices_for(target) if self.hub is not None else []
        if not names:
            nothing = f"no enabled {TEST_TARGETS[target]} on this box"
            return CommandResult(False, {"target": target, "results": []}, nothing)
        types = {name: health.type for name, health in self.hub.health().items()}
        results = self.hub.test(target=target)
        state = {"target": target, "results": [_result(r, types.get(r.device, "")) for r in results]}
        failed = [f"{r.device}: {r.detail}" for r in results if not r.success]
        return CommandResult(not failed, state, f"test failed on {'; '.join(failed)}" if failed else "")


def _refusals_answered(handler: CommandHandler) -> CommandHandler:
    """``Refused`` becomes a plain error answer (other exceptions are the router's business)."""

    def handle(body: dict[str, Any]) -> CommandResult:
        try:
            return handler(body)
        except Refused as exc:
            return CommandResult(False, error=str(exc))

    return handle


def _only(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise Refused(f"unknown key(s) {', '.join(unknown)}; this command takes: {', '.join(allowed)}")


def _flag(body: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> bool:
    _only(body, allowed)
    value = body.get(key)
    if not isinstance(value, bool):
        raise Refused(f"'{key}' must be true or false; got {value!r}")
    return value


def _by(body: Mapping[str, Any]) -> str:
    """Who asked, as recorded with the switch: the optional ``by`` plus the channel."""
    by = body.get("by")
    if by is None:
        return CHANNEL
    if not isinstance(by, str) or not by.strip() or len(by) > MAX_BY_CHARS:
        raise Refused(f"'by' must be a non-empty string of at most {MAX_BY_CHARS} characters")
    # Control characters escaped: the name is logged, and a newline in it would forge a log line.
    return f"{printable(by.strip())} via {CHANNEL}"


def _who(by: str, utc: float | None) -> dict[str, Any]:
    return {"by": by, "since": iso_utc(utc) if utc is not None else None}


def _saved(change: Change) -> dict[str, Any]:
    """Whether the switch survives a restart; when not, the answer says why."""
    return {"persisted": not change.save_error, **({"save_error": change.save_error} if change.save_error else {})}


def _result(result: Any, device_type: str) -> dict[str, Any]:
    latency = None if result.latency_s is None else round(result.latency_s * 1000, 1)
    return {"device": result.device, "type": device_type, "success": result.success,
            "latency_ms": latency, "detail": result.detail}  # fmt: skip
