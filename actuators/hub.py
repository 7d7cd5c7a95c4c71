"""The hub: fans violations and signal changes out to every configured output device.

``on_violation`` is called on the frame path. It decides (cooldown, quiet hours, level) from
the event's own time, then only appends to each device's bounded queue: it never waits for a
device. Each device has its own worker thread (``actuators.worker``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from pathlib import Path

from actuators.base import (
    DEVICE_TYPES,
    Actuator,
    Command,
    CommandKind,
    DeviceContext,
    DeviceHealth,
    Level,
    Message,
    TestResult,
)
from actuators.latency import LatencyLog, LatencySummary
from actuators.policy import CooldownBook, Policy, Step, Verdict, Window, level_at, local_time
from actuators.worker import DeviceWorker
from edge.config.actuators import ActuatorsConfig, MessageConfig
from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType
from edge.ped_call import PedCall
from edge.signal.types import SignalState

log = logging.getLogger(__name__)

# What an operator test (``test(target=...)``, the MQTT ``test`` command) may ask for.
TEST_TARGETS: Mapping[str, Callable[[Actuator], bool]] = {
    "led": lambda driver: driver.is_board,  # alpha, ntcip and http_board signs
    "speaker": lambda driver: driver.is_audio,
    "lights": lambda driver: driver.key == "ground_lights",
    "controller": lambda driver: driver.places_calls,
    "all": lambda driver: True,
}


def policy_from_config(config: ActuatorsConfig, timezone: str) -> Policy:
    return Policy(
        cooldown_s=config.cooldown_s,
        quiet_hours=tuple(Window(q.start, q.end) for q in config.quiet_hours),
        schedule=tuple(Step(s.start, s.volume, s.brightness) for s in config.schedule),
        timezone=timezone,
    )


def context_from_config(config: ActuatorsConfig) -> DeviceContext:
    def convert(items: list[MessageConfig]) -> tuple[Message, ...]:
        return tuple(Message(m.language, m.text, str(m.wav) if m.wav else None, m.voice) for m in items)

    cache = Path(config.tts_cache).expanduser()
    return DeviceContext(convert(config.messages), cache, convert(config.prewarn.messages))


class ActuatorHub:
    def __init__(self, config: ActuatorsConfig, timezone: str = "UTC") -> None:
        self.config = config
        self.policy = policy_from_config(config, timezone)
        self.latency = LatencyLog()
        self.suppressed: dict[Verdict, int] = {v: 0 for v in Verdict}
        self._cooldowns = CooldownBook()
        self._lock = threading.Lock()
        self._closed = False
        self._muted = False
        self.muted_skipped = 0  # warnings an audio output did not get because it was muted
        context = context_from_config(config)
        self._workers: dict[str, DeviceWorker] = {}
        for device in config.devices:
            if not device.enabled:
                continue
            driver_cls = DEVICE_TYPES[device.type]
            driver = driver_cls(device, context)
            self._workers[device.name] = DeviceWorker(driver, self.latency)

    @classmethod
    def from_config(cls, site: SiteConfig) -> ActuatorHub:
        return cls(site.actuators, site.site.timezone)

    @property
    def device_names(self) -> list[str]:
        return list(self._workers)

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute every audio output; boards keep showing warnings. Safe from any thread."""
        with self._lock:
            self._muted = muted

    def devices_for(self, target: str) -> list[str]:
        """Enabled devices an operator test of ``target`` (one of ``TEST_TARGETS``) covers."""
        if target not in TEST_TARGETS:
            raise ValueError(f"unknown test target '{target}'; known: {', '.join(TEST_TARGETS)}")
        wanted = TEST_TARGETS[target]
        return [name for name, worker in self._workers.items() if wanted(worker.driver)]

    # ---- frame path: must return at once ----------------------------------------------------

    def on_violation(self, event: CrossingEvent) -> None:
        """Queue the warning on every device that covers the event's crosswalk; never blocks."""
        entered = time.perf_counter()
        if event.type is not EventType.VIOLATION or not self._workers:
            return
        with self._lock:
            decision = self._cooldowns.decide(self.policy, event.crosswalk_id, event.decided_utc)
            if not decision.warn:
                self.suppressed[decision.verdict] += 1
                return
            muted = self._muted
        command = Command(
            kind=CommandKind.WARN,
            entered=entered,
            level=decision.level,
            crosswalk_id=event.crosswalk_id,
            event_id=event.event_id,
            event_utc=event.decided_utc,
            curb=event.from_curb,
        )
        self._submit(command, muted)

    def on_prewarning(self, event: CrossingEvent) -> None:
        """Someone at the curb edge on DON'T WALK: voice prompt and ground-light alert at that curb; never blocks.

        Quiet hours and the volume schedule apply (from the event's time); the one-series-per-person
        and per-curb cooldown rules are the pre-warning logic's (``edge.prewarn``).
        """
        entered = time.perf_counter()
        if event.type is not EventType.PRE_WARNING or not self._workers:
            return
        command = Command(
            kind=CommandKind.PREWARN,
            entered=entered,
            level=level_at(self.policy, local_time(event.decided_utc, self.policy.timezone)),
            crosswalk_id=event.crosswalk_id,
            event_id=event.event_id,
            event_utc=event.decided_utc,
            curb=event.from_curb,
        )
        with self._lock:
            muted = self._muted
        self._submit(command, muted)

    def on_ped_call(self, call: PedCall) -> None:
        """Ask the signal controller(s) that know the crosswalk's phase for pedestrian service; never blocks."""
        command = Command(kind=CommandKind.PED_CALL, entered=time.perf_counter(), crosswalk_id=call.crosswalk_id,
                          event_utc=call.utc, signal_group=call.signal_group, curb=call.curb)  # fmt: skip
        for worker in self._workers.values():
            if worker.driver.places_calls and worker.driver.calls_for(call.crosswalk_id):
                worker.submit(command)

    def _submit(self, command: Command, muted: bool) -> None:
        for worker in self._workers.values():
            if worker.driver.places_calls:  # a controller takes calls, not warnings
                continue
            covered = worker.driver.config.crosswalks
            if covered and command.crosswalk_id not in covered:
                continue
            if muted and worker.driver.is_audio:
                self.muted_skipped += 1
                continue
            worker.submit(command)

    def on_signal(self, group: str, state: SignalState, utc: float) -> None:
        """Forward a signal-state change to outputs that follow the signal (beacons, in-ground lights)."""
        entered = time.perf_counter()
        command = Command(
            kind=CommandKind.SIGNAL, entered=entered, event_utc=utc, signal_group=group, signal_state=state
        )
        for worker in self._workers.values():
            if worker.driver.follows_signal:
                worker.submit(command)

    # ---- status and operator commands --------------------------------------------------------

    def announce(self, text: str, language: str, wav: str | None, level: Level) -> list[str]:
        """Queue an operator's announcement on every speaker, ahead of routine prompts; returns their names.

        The caller (``edge.announce``) has checked quiet hours, mute and urgency and audits it."""
        command = Command(kind=CommandKind.ANNOUNCE, entered=time.perf_counter(), level=level, text=text,
                          language=language, wav=wav)  # fmt: skip
        names = self.devices_for("speaker")
        for name in names:
            self._workers[name].submit(command, first=True)
        return names

    def health(self) -> dict[str, DeviceHealth]:
        muted = self._muted
        return {
            name: replace(worker.health(), muted=muted and worker.driver.is_audio)
            for name, worker in self._workers.items()
        }

    def virtual_board_texts(self) -> dict[str, str]:
        """What every board shows now ("" before its first message), for the web UI."""
        return {
            name: worker.driver.board_text() or "" for name, worker in self._workers.items() if worker.driver.is_board
        }

    def latency_summary(self, device: str | None = None) -> LatencySummary | None:
        return self.latency.summary(device)

    def test(self, device: str | None = None, timeout_s: float | None = None, target: str = "all") -> list[TestResult]:
        """Trigger each output of ``target`` (or the named one) once and wait for the outcome.

        Bypasses cooldown, quiet hours and mute: the operator is standing there to listen.
        """
        if device is not None and device not in self._workers:
            known = ", ".join(self._workers) or "none"
            raise KeyError(f"no enabled device named '{device}' (enabled: {known})")
        names = [device] if device is not None else self.devices_for(target)
        started: dict[str, tuple[float, Future[float]]] = {}
        for name in names:
            done: Future[float] = Future()
            entered = time.perf_counter()
            self._workers[name].submit(Command(kind=CommandKind.TEST, entered=entered), done)
            started[name] = (entered, done)
        return [self._test_result(name, *started[name], timeout_s) for name in names]

    def _test_result(self, name: str, entered: float, done: Future[float], timeout_s: float | None) -> TestResult:
        cfg = self._workers[name].driver.config
        limit = timeout_s if timeout_s is not None else cfg.command_ttl_s + cfg.timeout_s
        try:
            finished = done.result(timeout=max(0.0, limit - (time.perf_counter() - entered)))
        except FutureTimeout:
            return TestResult(name, False, None, f"no answer within {limit:.1f} s")
        except Exception as exc:
            return TestResult(name, False, None, str(exc))
        return TestResult(name, True, finished - entered, "ok")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for worker in self._workers.values():
            worker.request_close()
        deadline = time.monotonic() + 2.0  # together, so one stuck device does not multiply the wait
        for worker in self._workers.values():
            worker.join(max(0.0, deadline - time.monotonic()))
