"""The operator's switches on a running box: enforcement on/off and speaker mute, kept across restarts.

Commands (the MQTT ``enforcement`` and ``mute`` commands, ``edge/mqtt/handlers.py``) arrive on
another thread. An enforcement change is only recorded there; the frame loop applies it through
``apply`` at the next frame's time, so the decision path sees it at a frame instant like
everything else and the pure core never reads a clock. Mute goes to the actuator hub at once: it
changes no decision, only which outputs are handed a warning.

Both switches are kept in ``<data_dir>/operator.json``, replaced atomically on every change: an
operator who switched enforcement off for road works expects it to stay off after a power cut or
a restart, and a speaker muted after complaints to stay muted. A missing file means the defaults
(enforcing, not muted); an unreadable one is logged, kept aside as ``operator.json.bad`` and the
defaults apply.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from edge.logtext import printable
from edge.ops.files import open_private

log = logging.getLogger(__name__)

OPERATOR_FILE = "operator.json"
FILE_VERSION = 1


@dataclass(frozen=True)
class EnforcementSwitch:
    """Whether the operator lets the box enforce; ``by``/``utc`` say who last changed it and when."""

    enabled: bool = True
    by: str = ""  # "" while it has never been changed
    utc: float | None = None


@dataclass(frozen=True)
class MuteSwitch:
    muted: bool = False
    by: str = ""
    utc: float | None = None


@dataclass(frozen=True)
class OperatorState:
    enforcement: EnforcementSwitch = field(default_factory=EnforcementSwitch)
    mute: MuteSwitch = field(default_factory=MuteSwitch)
    enforcement_pending: bool = False  # requested, not yet applied to a frame

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_STATE = TypeAdapter(OperatorState)


class Switchable(Protocol):
    """What ``apply`` needs of the signal hub (``edge.enforcement.SuspendableSignals``)."""

    def switch_off(self, t: float, by: str) -> bool: ...

    def switch_on(self, t: float) -> Any: ...


class Mutable(Protocol):
    """What the switches need of the actuator hub."""

    def set_muted(self, muted: bool) -> None: ...


@dataclass(frozen=True)
class Change:
    """The outcome of one request: the state after it, the number to wait for, and any save error."""

    state: OperatorState
    request: int
    save_error: str = ""


class OperatorControls:
    """The switches, safe to change from any thread; ``apply`` is for the frame loop only."""

    def __init__(self, path: Path, hub: Mutable | None = None) -> None:
        self.path = path
        self.hub = hub
        self._cond = threading.Condition()  # guards the state; the frame loop takes it every frame
        self._save_lock = threading.Lock()  # one save at a time, in order, without holding up frames
        self._state = load_state(path)
        # A switch-off kept from the last run takes effect at the first frame of this one.
        self._pending: EnforcementSwitch | None = None if self._state.enforcement.enabled else self._state.enforcement
        self._requested = 1 if self._pending is not None else 0
        self._applied = 0
        if hub is not None:
            hub.set_muted(self._state.mute.muted)

    @property
    def state(self) -> OperatorState:
        with self._cond:
            return replace(self._state, enforcement_pending=self._pending is not None)

    def set_enforcement(self, enabled: bool, by: str, utc: float) -> Change:
        """Record (and save) the operator's wish; the frame loop applies it at the next frame.

        Asking for what is already in force changes nothing, not even who and since when.
        """
        with self._save_lock:
            with self._cond:
                if self._state.enforcement.enabled != enabled:
                    self._state = replace(self._state, enforcement=EnforcementSwitch(enabled, by, utc))
                    self._pending = self._state.enforcement
                    self._requested += 1
                state, request = self.state, self._requested
            return Change(state, request, self._save(state))

    def set_muted(self, muted: bool, by: str, utc: float) -> Change:
        """Mute or unmute the speakers now (and save it)."""
        with self._save_lock:
            with self._cond:
                if self._state.mute.muted != muted:
                    self._state = replace(self._state, mute=MuteSwitch(muted, by, utc))
                state, request = self.state, self._requested
            if self.hub is not None:
                self.hub.set_muted(muted)
            return Change(state, request, self._save(state))

    def wait_applied(self, request: int, timeout_s: float) -> bool:
        """Wait until the frame loop has applied request number ``request``; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._applied >= request, timeout_s)

    def apply(self, signals: Switchable, t: float) -> EnforcementSwitch | None:
        """Frame loop: apply a pending enforcement change at frame time ``t``; returns it, or None."""
        with self._cond:
            pending, self._pending = self._pending, None
            request = self._requested
        if pending is None:
            return None
        if pending.enabled:
            signals.switch_on(t)
        else:
            signals.switch_off(t, pending.by)
        with self._cond:
            self._applied = request
            self._cond.notify_all()
        return pending

    def _save(self, state: OperatorState) -> str:
        """Replace the file atomically (write, fsync, rename); returns an error text, "" when saved."""
        body = {"version": FILE_VERSION, "enforcement": asdict(state.enforcement), "mute": asdict(state.mute)}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open_private(tmp, "w") as f:
                f.write(json.dumps(body, indent=2) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            log.error("operator switches not saved to %s (they hold until the next restart): %s", self.path, exc)
            return f"not saved to {self.path}: {exc}"
        return ""


def load_state(path: Path) -> OperatorState:
    """The switches saved in ``path``; the defaults when it is missing or unreadable (logged)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return OperatorState()
    except OSError as exc:
        log.error("%s: cannot read the operator switches (%s); enforcing and not muted", path, exc)
        return OperatorState()
    try:
        body = json.loads(text)
        if not isinstance(body, dict) or body.pop("version", None) != FILE_VERSION:
            raise ValueError(f"not a version {FILE_VERSION} operator file")
        state = _STATE.validate_json(json.dumps(body), strict=True)  # strict: "no" is not taken for false
    except (ValueError, ValidationError) as exc:
        bad = path.with_name(path.name + ".bad")
        log.error("%s: unreadable operator switches, kept as %s (%s); enforcing and not muted",
                  path, bad.name, _problem(exc))  # fmt: skip
        with contextlib.suppress(OSError):  # a read-only folder: the next change overwrites it anyway
            os.replace(path, bad)
        return OperatorState()
    if not state.enforcement.enabled:
        log.warning("enforcement stays OFF, as switched off by %s: send enforcement {\"enabled\": true} to resume",
                    printable(state.enforcement.by or "the operator"))  # fmt: skip
    return state


def _problem(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)
