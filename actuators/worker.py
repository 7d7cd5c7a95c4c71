"""One thread per device: a bounded queue in front, reconnect with back-off behind.

The hub only appends to the queue (drop-oldest when full), so a slow, hung or dead device
never holds up the caller or any other device. Drivers enforce their own per-operation
timeouts; the worker adds retry until the command goes stale, and health bookkeeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass

from actuators.base import Actuator, Command, CommandKind, DeviceError, DeviceHealth, HealthState
from actuators.latency import LatencyLog

log = logging.getLogger(__name__)
# Commands whose effect a device holds for ``revert_after_s`` and then clears: a board's warning,
# an operator test, a controller's pedestrian call bit.
_HELD = (CommandKind.WARN, CommandKind.TEST, CommandKind.PED_CALL)


class Backoff:
    """Exponential wait between attempts: initial, 2x, 4x ... capped; reset by a success."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self.initial_s, self.max_s = initial_s, max_s
        self.failures = 0
        self.not_before = 0.0  # monotonic time of the next allowed attempt

    def failed(self, now: float) -> None:
        self.failures += 1
        self.not_before = now + min(self.max_s, self.initial_s * 2 ** (self.failures - 1))

    def succeeded(self) -> None:
        self.failures, self.not_before = 0, 0.0


@dataclass
class _Pending:
    command: Command
    done: Future[float] | None = None  # operator tests wait for it: perf_counter() when the driver returned
    handed: bool = False  # latency recorded once, at the first hand-over to the driver


class DeviceWorker:
    def __init__(self, driver: Actuator, latency: LatencyLog) -> None:
        cfg = driver.config
        self.driver = driver
        self._latency = latency
        self._queue: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._connected = False
        self._backoff = Backoff(cfg.backoff_initial_s, cfg.backoff_max_s)
        self._state = HealthState.DOWN
        self._last_error: str | None = None
        self._last_error_utc: float | None = None
        self._last_success_utc: float | None = None
        self._counts = {"delivered": 0, "failed": 0, "dropped": 0, "stale": 0}
        self._revert_at: float | None = None  # monotonic time the board goes back to idle
        self._thread = threading.Thread(target=self._run, name=f"actuator-{cfg.name}", daemon=True)
        self._thread.start()

    @property
    def name(self) -> str:
        return self.driver.name

    def submit(self, command: Command, done: Future[float] | None = None, first: bool = False) -> None:
        """Queue a command (``first``: ahead of the others); never blocks beyond a short lock.

        A full queue loses its oldest entry."""
        with self._cond:
            if len(self._queue) >= self.driver.config.queue_size:
                dropped = self._queue.pop() if first else self._queue.popleft()
                self._counts["dropped"] += 1
                self._state = HealthState.DEGRADED if self._state is HealthState.OK else self._state
                if dropped.done is not None:
                    dropped.done.set_exception(DeviceError("dropped: the device queue was full"))
            if first:
                self._queue.appendleft(_Pending(command, done))
            else:
                self._queue.append(_Pending(command, done))
            self._cond.notify()

    def health(self) -> DeviceHealth:
        with self._cond:
            return DeviceHealth(
                name=self.name,
                type=self.driver.key,
                state=self._state,
                last_error=self._last_error,
                last_error_utc=self._last_error_utc,
                last_success_utc=self._last_success_utc,
                **self._counts,
            )

    def request_close(self) -> None:
        """Stop taking commands; pending ones fail with "closed". Returns at once."""
        with self._cond:
            self._closing = True
            for pending in self._queue:
                if pending.done is not None:
                    pending.done.set_exception(DeviceError("the hub was closed"))
            self._queue.clear()
            self._cond.notify_all()

    def join(self, timeout_s: float) -> None:
        # The worker closes the driver itself on the way out; a driver stuck in an operation
        # is left to its own timeout rather than closed under its feet from this thread.
        self._thread.join(timeout_s)

    # ---- worker thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._try_open()  # connect before the first warning, so it does not pay for the connection
            while (pending := self._next()) is not None:
                self._deliver(pending)
        finally:
            self.driver.close()

    def _next(self) -> _Pending | None:
        """The next command; while idle and disconnected, reconnect as the back-off allows."""
        while True:
            with self._cond:
                if self._closing:
                    return None
                if self._queue:
                    return self._queue.popleft()
                now = time.monotonic()
                if self._revert_at is not None and now >= self._revert_at:
                    self._revert_at = None
                    return _Pending(Command(CommandKind.CLEAR, time.perf_counter()))
                waits = [self._revert_at - now] if self._revert_at is not None else []
                if not self._connected:
                    waits.append(self._backoff.not_before - now)
                if not waits or min(waits) > 0:
                    self._cond.wait(min(waits) if waits else None)
                    continue
            self._try_open()

    def _deliver(self, pending: _Pending) -> None:
        ttl = self.driver.config.command_ttl_s
        while True:
            if self._closing:
                if pending.done is not None:
                    pending.done.set_exception(DeviceError("the hub was closed"))
                return
            if self._obsolete(pending, ttl):
                self._give_up(pending)
                return
            if not self._connected and not self._wait_and_open(pending, ttl):
                continue
            if not pending.handed:
                pending.handed = True
                if pending.command.kind is CommandKind.WARN:
                    self._latency.record(self.name, time.perf_counter() - pending.command.entered)
            try:
                self._execute(pending.command)
            except Exception as exc:
                self._failure(exc)
                self.driver.close()
                continue
            finished = time.perf_counter()
            self._success()
            self._schedule_revert(pending.command.kind)
            if pending.done is not None:
                pending.done.set_result(finished)
            return

    def _schedule_revert(self, kind: CommandKind) -> None:
        hold = self.driver.revert_after_s()
        if hold is not None and (self.driver.refreshes or kind in _HELD):
            with self._cond:
                self._revert_at = time.monotonic() + hold  # a newer warning extends the hold

    def _obsolete(self, pending: _Pending, ttl: float) -> bool:
        """A warning or test older than the TTL is useless; a signal state or a return to idle
        only until something that replaces it is queued."""
        command = pending.command
        if command.kind is CommandKind.SIGNAL:  # only a newer state of the same group replaces it
            with self._cond:
                return any(
                    p.command.kind is CommandKind.SIGNAL and p.command.signal_group == command.signal_group
                    for p in self._queue
                )
        if command.kind is CommandKind.CLEAR:
            with self._cond:
                return any(p.command.kind in _HELD for p in self._queue)
        return time.perf_counter() - pending.command.entered > ttl

    def _wait_and_open(self, pending: _Pending, ttl: float) -> bool:
        wait = self._backoff.not_before - time.monotonic()
        if wait > 0:
            if pending.command.kind not in (CommandKind.SIGNAL, CommandKind.CLEAR):  # those never go stale
                wait = min(wait, ttl - (time.perf_counter() - pending.command.entered))
            with self._cond:  # sleep, but wake at once on close or when a newer command arrives
                self._cond.wait(max(0.0, wait))
            return False
        return self._try_open()

    def _try_open(self) -> bool:
        try:
            self.driver.open()
        except Exception as exc:
            self._failure(exc)
            self.driver.close()
            return False
        with self._cond:
            self._connected = True
            if self._last_error is None:  # first contact; after a failure only a delivery proves health
                self._state = HealthState.OK
        return True

    def _execute(self, command: Command) -> None:
        if command.kind is CommandKind.WARN:
            self.driver.warn(command)
        elif command.kind is CommandKind.SIGNAL:
            self.driver.signal(command)
        elif command.kind is CommandKind.CLEAR:
            self.driver.clear(command)
        elif command.kind is CommandKind.PREWARN:
            self.driver.prewarn(command)
        elif command.kind is CommandKind.ANNOUNCE:
            self.driver.announce(command)
        elif command.kind is CommandKind.PED_CALL:
            self.driver.ped_call(command)
        else:
            self.driver.test(command)

    def _give_up(self, pending: _Pending) -> None:
        with self._cond:
            self._counts["stale"] += 1
        if pending.done is not None:
            pending.done.set_exception(DeviceError(self._last_error or "not delivered in time"))

    def _success(self) -> None:
        self._backoff.succeeded()
        condition = self.driver.condition()
        with self._cond:
            self._counts["delivered"] += 1
            self._last_success_utc = time.time()
            self._state = HealthState.OK if condition is None else HealthState.DEGRADED
            if condition is not None:
                self._last_error, self._last_error_utc = condition, self._last_success_utc

    def _failure(self, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, DeviceError) else f"{type(exc).__name__}: {exc}"
        repeated = message == self._last_error  # a device that stays away is logged once, not every retry
        log.log(logging.DEBUG if repeated else logging.WARNING, "actuator %s: %s", self.name, message)
        self._backoff.failed(time.monotonic())
        with self._cond:
            self._counts["failed"] += 1
            self._connected = False
            self._last_error, self._last_error_utc = message, time.time()
            # Worked before and failing for a short while is "degraded"; never reached, or
            # failing repeatedly, is "down".
            worked = self._last_success_utc is not None
            self._state = HealthState.DEGRADED if worked and self._backoff.failures < 3 else HealthState.DOWN
