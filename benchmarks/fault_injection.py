"""Fault injection: a real box, centre and broker on loopback, attacked and crashed in one bounded run.

Starts, on 127.0.0.1 only and in one work folder:

* a mosquitto broker with persistence on (``tests/mosquitto.py``, with mosquitto's default in-flight
  window of 20 messages per client);
* the centre, ``crossguard center --broker ... --db ... --registry boxes.yaml``, the registry
  naming only the box under test;
* the box, ``crossguard run`` on the demo site with the shared clip looped at its real frame rate
  as a live camera, evidence on, MQTT reporting to the broker and a command key (a 0600 file in
  the work folder) shared with the centre's commands, which this script signs. The demo timeline drives
  ``ped-main``; a second crosswalk with the same zones, on group ``ped-feed``, takes its signal
  only from an MQTT controller feed that this script publishes (DON'T WALK every 0.5 s).

Then, within ``--minutes``:

1. publishes ``--messages`` hostile messages of the 20 kinds in ``KINDS`` on every topic the box
   and the centre subscribe to (the box's events, evidence, status and availability, the same for
   unknown boxes, the box's ``.../<command>/set``, the controller feed), paced over about a third of
   the budget; forged commands are unsigned, signed with another key, signed for another command's
   topic or carry a made-up signature, replays repeat a genuine signed one; each forged enforcement
   switch-off is followed by the centre's own signed switch-on;
2. meanwhile, before any kill so that none cuts a request short, sends oversized and malformed
   HTTP requests to the box's ops and web ports;
3. kills the box with SIGKILL ``--kills`` times, 0-100 ms after a violation appears in its event
   journal, and restarts it on the same data folder; restarts the broker ``--broker-restarts``
   times (SIGTERM, then started again on the same persistence file), also just after a violation;
4. lets the box deliver what it holds (then waits up to 60 s more until its outbox owes nothing:
   no event or evidence queued, no violation awaiting its evidence outcome), stops everything and
   prints events decided by the box (its journal) against events stored at the centre (its SQLite
   file) with missing, extra and duplicate ids; violations decided against the evidence outcomes
   (recorded or lost) the centre holds for them; the centre's dead letters; the commands accepted;
   the peak RSS of box, centre and broker (the most of any PID each had); and every moment a
   signal group was UNKNOWN while the box claimed all was well.

Events the centre stored under this box's site and camera that the box never decided count as a
mismatch, like decided events it never stored, except those this script forged on the box's own
topic: this run's broker lets anyone publish there, where the documented ACL (edge/mqtt/README.md,
*Broker ACL*) lets only the box; they are counted apart. Duplicates are ids twice in the journal or
the centre, or one decision (crosswalk, type, track, entry time) stored twice.

An UNKNOWN group counts as alarmed when the box's /status says it is not ready (/healthz answers
503, with reasons), or when a signal source that is down or degraded — in /status
``signal_sources`` or the MQTT status' ``signal.sources`` — provides that group or names it in its
detail (the hub's alarms, e.g. a contradiction or a feed clock ahead, name their group). Group
states come from the box's MQTT status, published every second; the first 3 s after each box
start are not judged.

Exit status: 0 when decided == stored, there are no duplicates, every violation has an evidence
outcome at the centre, no forged event is stored for an unknown box, no forged or replayed command
was accepted and no UNKNOWN went without an alarm; 1 otherwise; 2 when the run could not be set up.
Needs mosquitto (``scripts/setup-test-env.sh``), the test install (paho-mqtt, httpx, and pytest for
``tests/mosquitto.py``), and the shared clip and model. It loads the machine for real: run it alone.

    .venv/bin/python benchmarks/fault_injection.py --minutes 5 --out out/faults

What the script assumes about the box and the centre is kept in three functions: ``box_site``
(the site file), ``centre_command`` (the centre's flags) and ``sign_command`` (what the centre's
commands carry). Adapt those when the interfaces change.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import hashlib
import json
import os
import random
import secrets
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

from edge.mqtt import commands  # noqa: E402
from tests.mosquitto import HOST, Mosquitto, free_port  # noqa: E402

FEED_TOPIC = "controller/demo/spat"
FEED_GROUP_ID = 2  # the controller's id of the feed crosswalk's signal group
FEED_GROUP = "ped-feed"
DONT_WALK_J2735 = 3  # stop-And-Remain
STARTUP_GRACE_S = 3.0
ADMIN = ("fault-admin", "fault-admin-password-1")
MB = 1024 * 1024


def shared(relative: str) -> Path:
    return Path(os.environ.get("CROSSGUARD_SHARED_DATA", REPO.parent / "shared" / "data")) / relative


def iso_utc(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def child_env() -> dict[str, str]:
    """Children import this checkout's code, whatever is installed."""
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


# --- what the script assumes about the box and the centre -------------------------------------------


@dataclass
class Setup:
    """Where everything of one run lives, and the ports and names the parts use."""

    work: Path
    site_template: Path
    video: Path
    model: Path
    broker_port: int = 0
    ops_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    site_id: str = ""
    camera_id: str = ""
    device_id: str = ""
    command_key: bytes = field(default_factory=lambda: secrets.token_hex(32).encode())
    group_sources: dict[str, set[str]] = field(default_factory=dict)  # signal group → names of its sources

    @property
    def site_file(self) -> Path:
        return self.work / "box" / "site.yaml"

    @property
    def data_dir(self) -> Path:
        return self.work / "box" / "state"

    @property
    def users_db(self) -> Path:
        return self.work / "box" / "users.db"

    @property
    def centre_db(self) -> Path:
        return self.work / "centre" / "centre.sqlite"

    @property
    def registry(self) -> Path:
        return self.work / "centre" / "boxes.yaml"

    @property
    def command_key_file(self) -> Path:
        return self.work / "keys" / "command.key"

    @property
    def base(self) -> str:
        return f"crossguard/{self.site_id}/{self.camera_id}"

    @property
    def http_ports(self) -> dict[str, int]:
        """The box's HTTP ports by use: ops (``service.http``: /status, /metrics) and the web UI (``web``)."""
        return {"ops": self.ops_port, "web": self.web_port}


def box_site(setup: Setup) -> Path:
    """The box's site file: the demo site, its clip looped live, evidence on, MQTT to the broker with
    the command key shared with the centre (a 0600 file), a second crosswalk whose signal group only
    the MQTT controller feed provides."""
    yaml = YAML(typ="safe")
    data = yaml.load(setup.site_template.read_text(encoding="utf-8"))
    setup.site_id, setup.camera_id = data["site"]["id"], data["camera"]["id"]
    setup.device_id = data["site"].get("device_id") or setup.site_id
    data["camera"]["source"] = str(setup.video)
    data["detector"]["model"] = str(setup.model)
    for source in data["signal"]["sources"]:
        if "path" in source and not Path(source["path"]).is_absolute():
            source["path"] = str((setup.site_template.parent / source["path"]).resolve())
    feed_crosswalk = {**data["crosswalks"][0], "id": "cw-feed", "signal_group": FEED_GROUP}
    data["crosswalks"].append(feed_crosswalk)
    data["signal"]["sources"].append(
        {
            "type": "mqtt",
            "name": "controller",
            "host": HOST,
            "port": setup.broker_port,
            "topic": FEED_TOPIC,
            "groups": {str(FEED_GROUP_ID): FEED_GROUP},
        }
    )
    for source in data["signal"]["sources"]:  # a timeline names no groups: it provides every other one
        groups = source.get("groups") or {}
        for group in groups.values() if isinstance(groups, dict) else groups:
            setup.group_sources.setdefault(str(group), set()).add(str(source.get("name") or source["type"]))
    for crosswalk in data["crosswalks"]:
        group = crosswalk["signal_group"]
        if group not in setup.group_sources:
            setup.group_sources[group] = {str(s.get("name") or s["type"]) for s in data["signal"]["sources"]
                                          if not s.get("groups")}  # fmt: skip
    write_private(setup.command_key_file, setup.command_key)
    data["evidence"] = {"root": str(setup.work / "box" / "evidence")}
    data["web"] = {"host": HOST, "port": setup.web_port, "users_db": str(setup.users_db)}
    data["service"] = {
        "data_dir": str(setup.data_dir),
        "status_interval_s": 1,
        "capture": {"realtime": True, "loop": True},
        "http": {"host": HOST, "port": setup.ops_port},
    }
    data["mqtt"] = {
        "enabled": True,
        "host": HOST,
        "port": setup.broker_port,
        "reconnect_min_s": 0.5,
        "reconnect_max_s": 5,
        "status_interval_s": 1,
        "command_key_file": str(setup.command_key_file),
    }
    setup.site_file.parent.mkdir(parents=True, exist_ok=True)
    with setup.site_file.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
    return setup.site_file


def write_private(path: Path, data: bytes) -> None:
    """A secret file, 0600 from its creation."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def centre_command(setup: Setup) -> list[str]:
    """The centre's command line, with a registry that knows only the box under test: reports of any
    other site go to its dead letters."""
    setup.registry.parent.mkdir(parents=True, exist_ok=True)
    setup.registry.write_text(f"boxes:\n  - site: {setup.site_id}\n    camera: {setup.camera_id}\n", encoding="utf-8")
    return [
        sys.executable, "-m", "edge.cli", "center",
        "--broker", f"mqtt://{HOST}:{setup.broker_port}",
        "--db", str(setup.centre_db),
        "--registry", str(setup.registry),
        "--client-id", "fault-injection-centre",
        "--interval", "0",
        "--connect-timeout", "30",
    ]  # fmt: skip


def sign_command(body: dict[str, Any], setup: Setup, topic: str, key: bytes | None = None) -> bytes:
    """A command as the centre publishes it on ``topic``: signed (HMAC, fresh nonce) with the box's
    command key, the one ``box_site`` wrote; ``key`` signs with another (a forger's) key."""
    return json.dumps(commands.sign_command(key or setup.command_key, topic, body), separators=(",", ":")).encode()


# --- the three processes --------------------------------------------------------------------------


class Broker(Mosquitto):
    """The test broker with mosquitto's default in-flight window (20 per client), as a deployed broker
    has; the tests' broker lifts it."""

    def _config(self) -> str:
        return super()._config().replace("max_inflight_messages 0", "max_inflight_messages 20")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None


class Child:
    """One child process, restartable; its output appended to ``log``; every PID it had is kept."""

    def __init__(self, name: str, argv: list[str], log: Path) -> None:
        self.name, self.argv, self.log = name, argv, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []
        self.starts: list[float] = []  # monotonic start times
        self.unexpected_exits: list[str] = []

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n===== start {len(self.starts) + 1} at {iso_utc(time.time())} =====\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.argv, cwd=REPO, env=child_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pids.append(self.proc.pid)
        self.starts.append(time.monotonic())

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.running and self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> float:
        """SIGKILL; returns when (monotonic) the signal was sent."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        sent = time.monotonic()
        self.proc.wait(10)
        self.proc = None
        return sent

    def stop(self, timeout: float = 40.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code (None if it was not running)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        code, self.proc = self.proc.returncode, None
        return code

    def check(self, elapsed: Callable[[], float]) -> bool:
        """False (and the exit noted) if the process ended without being told to."""
        if self.proc is not None and self.proc.poll() is not None:
            self.unexpected_exits.append(f"+{elapsed():.0f} s: exit code {self.proc.returncode}")
            self.proc = None
            return False
        return True


def box_ready(port: int, timeout: float, box: Child, through_restarts: bool = False) -> bool:
    """True once the box's /status answers (the frame loop is built and the HTTP server up);
    False at once if the box is not running, unless ``through_restarts`` (another thread restarts it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (box.running or through_restarts):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://{HOST}:{port}/status", timeout=2).status_code == 200:
                return True
        time.sleep(0.3)
    return False


# --- what the box decided, what the centre stored ---------------------------------------------------


def parse_journal_line(line: str) -> dict[str, Any] | None:
    """One journal line; a line a kill cut short and the next run continued is salvaged from its end."""
    for start in [0] + [i for i in range(1, len(line)) if line.startswith('{"', i)]:
        try:
            value = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(value, dict) and "event_id" in value:
            return value
    return None


class Journal:
    """The box's event journal (``<data_dir>/events/events-*.jsonl``, see ``edge.observers.EventJournal``),
    read incrementally: ``poll`` returns the events written since the last call."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._offsets: dict[Path, int] = {}

    def poll(self) -> list[dict[str, Any]]:
        events = []
        for path in sorted(self.folder.glob("events-*.jsonl")):
            offset = self._offsets.get(path, 0)
            with contextlib.suppress(OSError), path.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
                end = chunk.rfind(b"\n") + 1  # an unfinished last line waits for its end
                self._offsets[path] = offset + end
                for raw in chunk[:end].splitlines():
                    event = parse_journal_line(raw.decode("utf-8", errors="replace"))
                    if event is not None:
                        events.append(event)
        return events

    @staticmethod
    def read_all(folder: Path) -> tuple[list[dict[str, Any]], int]:
        """Every event in the journal, and how many non-empty lines held none (torn by a kill)."""
        events, torn = [], 0
        for path in sorted(folder.glob("events-*.jsonl")):
            for raw in path.read_bytes().splitlines():
                if not raw.strip():
                    continue
                event = parse_journal_line(raw.decode("utf-8", errors="replace"))
                if event is None:
                    torn += 1
                else:
                    events.append(event)
        return events, torn


def read_centre(db: Path) -> tuple[list[tuple[str, str, str, dict[str, Any]]], list[dict[str, Any]], str]:
    """The centre's events (id, site, camera, payload) and sites (``edge.mqtt.store`` tables), read-only."""
    if not db.exists():
        return [], [], "no database"
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute("SELECT event_id, site, camera, payload FROM events").fetchall()
            con.row_factory = sqlite3.Row
            sites = [dict(r) for r in con.execute("SELECT * FROM sites")]
        finally:
            con.close()
    except sqlite3.Error as exc:
        return [], [], f"unreadable: {exc}"
    events = []
    for event_id, site, camera, payload in rows:
        try:
            body = json.loads(payload)
        except ValueError:
            body = {}
        events.append((event_id, site, camera, body if isinstance(body, dict) else {}))
    return events, sites, ""


@dataclass
class CentreLedger:
    """The centre's evidence outcomes and dead letters (``edge.mqtt.store``), read-only."""

    outcomes: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (site, camera) → id → status
    dead_letters: Counter[str] = field(default_factory=Counter)  # "site/camera" → rows
    dead_reasons: Counter[str] = field(default_factory=Counter)  # reason, up to its first ':' → rows
    error: str = ""


def read_ledger(db: Path) -> CentreLedger:
    ledger = CentreLedger()
    if not db.exists():
        ledger.error = "no database"
        return ledger
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            evidence = con.execute("SELECT event_id, site, camera, status FROM evidence").fetchall()
            letters = con.execute("SELECT site, camera, reason, COUNT(*) FROM dead_letters GROUP BY 1, 2, 3").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        ledger.error = f"unreadable: {exc}"
        return ledger
    for event_id, site, camera, status in evidence:
        ledger.outcomes.setdefault((site, camera), {})[event_id] = status
    for site, camera, reason, count in letters:
        ledger.dead_letters[f"{site}/{camera}"] += count
        ledger.dead_reasons[str(reason).split(":", 1)[0][:60]] += count
    return ledger


def outbox_depth(path: Path) -> tuple[int, str]:
    """Reports still owed by the box: events and evidence in its outbox, violations awaiting their outcome."""
    if not path.exists():
        return 0, "no outbox file"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            queued = con.execute("SELECT COUNT(*) FROM outbox WHERE kind IN ('violation', 'crossing', 'evidence')")
            owed = con.execute("SELECT COUNT(*) FROM awaiting_evidence WHERE settled = 0")
            return int(queued.fetchone()[0]) + int(owed.fetchone()[0]), ""
        finally:
            con.close()
    except sqlite3.Error as exc:
        return -1, f"unreadable: {exc}"


def outbox_event_ids(path: Path) -> tuple[set[str], str]:
    """Ids of events still queued in the box's durable outbox (``edge.mqtt.outbox``)."""
    if not path.exists():
        return set(), "no outbox file"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute("SELECT payload FROM outbox WHERE kind IN ('violation', 'crossing')").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        return set(), f"unreadable: {exc}"
    ids = set()
    for (payload,) in rows:
        with contextlib.suppress(ValueError, TypeError):
            ids.add(str(json.loads(payload)["id"]))
    return ids, ""


# --- MQTT clients of the script ------------------------------------------------------------------------


def mqtt_client(name: str, port: int, subscriptions: tuple[str, ...] = (), on_message: Any = None) -> mqtt.Client:
    """A paho client that reconnects by itself and re-subscribes; a callback error never kills it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"faults-{name}-{os.getpid()}")
    client.suppress_exceptions = True
    client.reconnect_delay_set(min_delay=1, max_delay=2)

    def on_connect(c: mqtt.Client, _u: object, _f: object, reason: Any, _p: object = None) -> None:
        if not getattr(reason, "is_failure", False):
            for topic in subscriptions:
                c.subscribe(topic, qos=1)

    client.on_connect = on_connect
    if on_message is not None:
        client.on_message = on_message
    client.connect_async(HOST, port, keepalive=10)
    client.loop_start()
    return client


def close_client(client: mqtt.Client) -> None:
    with contextlib.suppress(Exception):
        client.disconnect()
        client.loop_stop()


class Controller(threading.Thread):
    """The real signal controller: DON'T WALK for the feed crosswalk's group, twice a second."""

    def __init__(self, port: int) -> None:
        super().__init__(name="controller", daemon=True)
        self.client = mqtt_client("controller", port)
        self.stopping = threading.Event()
        self.sent = 0

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            state = {"signalGroup": FEED_GROUP_ID, "eventState": DONT_WALK_J2735}
            body = {"ts": round(time.time(), 3), "states": [state]}
            if self.client.publish(FEED_TOPIC, json.dumps(body), qos=0).rc == mqtt.MQTT_ERR_SUCCESS:
                self.sent += 1

    def stop(self) -> None:
        self.stopping.set()
        close_client(self.client)


@dataclass
class StatusSample:
    elapsed: float
    mqtt: dict[str, Any]  # the box's MQTT status (schema crossguard.status.v1)
    http: dict[str, Any] | None  # its /status at about the same time


class Monitor:
    """The box's own reports: its MQTT status and command answers (forged copies filtered out),
    /status polled every second, and the memory of every process, sampled twice a second."""

    def __init__(self, setup: Setup, published: set[str], elapsed: Callable[[], float]) -> None:
        self.setup = setup
        self.published = published  # sha1 of every hostile payload: they are not the box's
        self.elapsed = elapsed
        self.lock = threading.Lock()
        self.statuses: list[StatusSample] = []
        self.answers: dict[str, list[dict[str, Any]]] = {}  # request_id → answers
        self.http: tuple[float, dict[str, Any]] | None = None  # (monotonic, /status) latest
        self.http_failures = 0
        self.rss_kb: dict[str, dict[int, int]] = {"box": {}, "centre": {}, "broker": {}}
        self.pids: dict[str, Callable[[], int | None]] = {}
        self.stopping = threading.Event()
        base = setup.base
        self.client = mqtt_client("monitor", setup.broker_port, (f"{base}/status", f"{base}/+/state"), self._on_message)
        self.thread = threading.Thread(target=self._run, name="monitor", daemon=True)

    def start(self, pids: dict[str, Callable[[], int | None]]) -> None:
        self.pids = pids
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        close_client(self.client)

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        raw = bytes(message.payload)
        if hashlib.sha1(raw).hexdigest() in self.published or len(raw) > 256 * 1024:
            return
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return
        if not isinstance(body, dict):
            return
        if message.topic.endswith("/state") and isinstance(body.get("request_id"), str):
            with self.lock:
                self.answers.setdefault(body["request_id"], []).append(body)
        elif message.topic.endswith("/status") and body.get("device") == self.setup.device_id:
            self._judge(body)

    def _judge(self, status: dict[str, Any]) -> None:
        try:  # only a status of this moment: the outbox may deliver an old one after a restart
            age = time.time() - datetime.fromisoformat(str(status["time"]).replace("Z", "+00:00")).timestamp()
        except (KeyError, ValueError):
            return
        with self.lock:
            http = self.http
        fresh_http = http[1] if http is not None and time.monotonic() - http[0] < 3.0 else None
        if age < 5.0:
            with self.lock:
                self.statuses.append(StatusSample(round(self.elapsed(), 1), status, fresh_http))

    def _run(self) -> None:
        next_http = 0.0
        while not self.stopping.wait(0.5):
            for role, pid_of in self.pids.items():
                pid = pid_of()
                if pid is not None:
                    peak = max(memory_kb(pid))
                    if peak:
                        self.rss_kb[role][pid] = max(peak, self.rss_kb[role].get(pid, 0))
            if time.monotonic() >= next_http:
                next_http = time.monotonic() + 1.0
                self._poll_status()

    def _poll_status(self) -> None:
        try:
            response = httpx.get(f"http://{HOST}:{self.setup.ops_port}/status", timeout=2)
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            body = None
        with self.lock:
            if isinstance(body, dict):
                self.http = (time.monotonic(), body)
            else:
                self.http_failures += 1

    def latest_http(self) -> dict[str, Any] | None:
        with self.lock:
            return self.http[1] if self.http is not None else None


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB; zeros when it is gone."""
    found = {"VmRSS": 0, "VmHWM": 0}
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in found:
                found[key] = int(line.split()[1])
    return found["VmRSS"], found["VmHWM"]


# --- hostile messages ---------------------------------------------------------------------------------


class Topic(enum.Enum):
    BOX_EVENTS = "the box's events"
    BOX_STATUS = "the box's status"
    BOX_AVAILABILITY = "the box's availability"
    GHOST_EVENTS = "events of unknown boxes"
    GHOST_STATUS = "status of unknown boxes"
    GHOST_AVAILABILITY = "availability of unknown boxes"
    BOX_EVIDENCE = "the box's evidence"
    GHOST_EVIDENCE = "evidence of unknown boxes"
    COMMAND = "the box's commands (.../<command>/set)"
    FEED = "the controller feed"


ALL_TOPICS = tuple(Topic)
COMMANDS = ("enforcement", "mute", "test", "no-such-command")


@dataclass
class Attack:
    """What payload factories may use: names, topics, and the centre's genuine command for replay."""

    setup: Setup
    rng: random.Random
    replayable: bytes = b""
    forged_ids: set[str] = field(default_factory=set)  # ids of schema-valid events forged for the box

    def topic(self, kind: Topic, n: int) -> str:
        base = self.setup.base
        ghost = f"crossguard/ghost-{n % 7}/cam{n % 3}"
        return {
            Topic.BOX_EVENTS: f"{base}/events",
            Topic.BOX_STATUS: f"{base}/status",
            Topic.BOX_AVAILABILITY: f"{base}/availability",
            Topic.GHOST_EVENTS: f"{ghost}/events",
            Topic.GHOST_STATUS: f"{ghost}/status",
            Topic.GHOST_AVAILABILITY: f"{ghost}/availability",
            Topic.BOX_EVIDENCE: f"{base}/evidence",
            Topic.GHOST_EVIDENCE: f"{ghost}/evidence",
            Topic.COMMAND: f"{base}/{COMMANDS[n % len(COMMANDS)]}/set",
            Topic.FEED: FEED_TOPIC,
        }[kind]

    def event(self, site: str, camera: str, **changes: Any) -> dict[str, Any]:
        """A schema-valid violation (``edge/mqtt/schemas/event.json``) of a box that never decided it."""
        now = time.time()
        body: dict[str, Any] = {
            "schema": "crossguard.event.v1",
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "type": "violation",
            "site": site,
            "camera": camera,
            "device": f"{site}-device",
            "crosswalk": "cw-main",
            "track_id": self.rng.randrange(1, 10_000),
            "entry_time": iso_utc(now - 2),
            "decided_time": iso_utc(now),
            "signal": {"group": "ped-main", "state": "DONT_WALK", "since_dont_walk_s": 12.5},
            "direction": {"label": "near->far", "from": "near", "to": "far"},
            "enforced": True,
            "entry_observed": True,
            "reason": "entered on DONT_WALK",
            "score": 0.9,
            "box": [10.0, 20.0, 30.0, 40.0],
            "evidence": [],
            "historical": False,
        }
        body.update(changes)
        if (site, camera) == (self.setup.site_id, self.setup.camera_id):
            self.forged_ids.add(str(body["id"]))
        return body

    def status(self, site: str, camera: str) -> dict[str, Any]:
        """A schema-valid, all-well status (``status.json``) that the box did not send."""
        return {
            "schema": "crossguard.status.v1", "site": site, "camera": camera, "device": f"{site}-device",
            "time": iso_utc(time.time()), "fps": 11.0, "inference_ms": 20.0, "frames_dropped": 0,
            "signal": {"states": {"ped-main": "WALK"}, "sources": []}, "actuators": [],
            "storage": {"free_bytes": 10**12, "used_fraction": 0.1}, "outbox_depth": 0,
            "clock_offset_s": 0.0, "enforcement_enabled": True,
        }  # fmt: skip


def topic_kind(topic: str) -> str:
    """``events``, ``status``, ``availability``, ``<command>/set`` or ``feed``."""
    if topic == FEED_TOPIC:
        return "feed"
    parts = topic.split("/")
    return "/".join(parts[3:]) if parts[3:] else topic


def js(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=True).encode()


def deep_nesting(a: Attack, n: int, topic: str) -> bytes:
    return b"[" * 100_000 + b"]" * 100_000 if n % 2 == 0 else b'{"a":' * 50_000 + b"1" + b"}" * 50_000


def payload_8mb(a: Attack, n: int, topic: str) -> bytes:
    return b'{"group":"' + b"A" * (8 * MB) + b'","state":"WALK"}'


def groups_200k(a: Attack, n: int, topic: str) -> bytes:
    return js({"ts": time.time(), "states": [{"signalGroup": i, "eventState": 6} for i in range(200_000)]})


def invalid_utf8(a: Attack, n: int, topic: str) -> bytes:
    return b'{"group":"\xff\xfe","state":"\xc3\x28WALK","schema":"crossguard.event.v1\xed\xa0\x80"}'


def nul_bytes(a: Attack, n: int, topic: str) -> bytes:
    if n % 2:
        return b'{"group":"2\x00","state":"WALK\x00"}\x00\x00'
    return js({"group": "2\u0000", "state": "WALK", "by": "\u0000", "enabled": True, "site": "x\u0000"})


def control_chars(a: Attack, n: int, topic: str) -> bytes:
    forged_line = "\n2026-12-06 20:00:00 WARNING enforcement switched OFF by admin\r\x1b[31m\u2028\x07"
    kind = topic_kind(topic)
    if kind.endswith("/set"):
        return js({"muted": False, "enabled": True, "target": "led", "by": "ops" + forged_line})
    if kind == "feed":
        return js({"group": "2" + forged_line, "state": "DONT_WALK"})
    return js(a.event(a.setup.site_id, a.setup.camera_id, reason="x" + forged_line, device="d" + forged_line))


def wrong_types(a: Attack, n: int, topic: str) -> bytes:
    kind = topic_kind(topic)
    if kind.endswith("/set"):
        return js([{"enabled": "false"}, {"muted": 0}, {"target": ["led"]}, {"request_id": 5}][n % 4])
    if kind == "feed":
        return js({"group": ["2"], "state": {"s": 1}, "ts": "yesterday"})
    return js(a.event(a.setup.site_id, a.setup.camera_id, id=123, track_id="7", enforced="yes", box="x"))


def absurd_numbers(a: Attack, n: int, topic: str) -> bytes:
    digits = "9" * 5000  # Python refuses to parse ints above 4300 digits, with a ValueError
    values = [digits, "1e999", "-1e999", "NaN", "Infinity", "-Infinity", "1.7976931348623157e308"]
    v = values[n % len(values)]
    kind = topic_kind(topic)
    if kind == "feed":
        return f'{{"ts":{v},"states":[{{"signalGroup":{FEED_GROUP_ID},"eventState":{v}}}]}}'.encode()
    if kind.endswith("/set"):
        return f'{{"enabled":{v},"muted":{v},"request_id":"r{n}"}}'.encode()
    body = json.dumps(a.event(a.setup.site_id, a.setup.camera_id, score=0.5))
    return body.replace('"score": 0.5', f'"score": {v}').replace('"track_id": ', f'"track_id": {v}, "x": ').encode()


def future_times(a: Attack, n: int, topic: str) -> bytes:
    if topic_kind(topic) == "feed":  # the spoofed controller: WALK a little ahead, or centuries ahead
        ts = time.time() + (1.5 if n % 2 == 0 else 30_000_000_000)
        return js({"ts": ts, "states": [{"signalGroup": FEED_GROUP_ID, "eventState": 6}]})
    return js(a.event(a.setup.site_id, a.setup.camera_id, decided_time="2999-12-31T23:59:59.999Z"))


def negative_times(a: Attack, n: int, topic: str) -> bytes:
    if topic_kind(topic) == "feed":
        return js({"ts": [-1, -1e12, 0][n % 3], "states": [{"signalGroup": FEED_GROUP_ID, "eventState": 6}]})
    return js(a.event(a.setup.site_id, a.setup.camera_id, track_id=-5, entry_time="1969-12-31T23:59:59.000Z"))


def unknown_groups(a: Attack, n: int, topic: str) -> bytes:
    states = [{"signalGroup": g, "eventState": 6} for g in (99, "ped-nonexistent", 10**6 + n)]
    return js({"ts": time.time(), "states": states})


def forged_unknown_box(a: Attack, n: int, topic: str) -> bytes:
    site, camera, kind = topic.split("/")[1:4]
    if kind == "events":
        return js(a.event(site, camera))
    if kind == "status":
        return js(a.status(site, camera))
    return b"online"


def forged_this_box(a: Attack, n: int, topic: str) -> bytes:
    return js(a.event(a.setup.site_id, a.setup.camera_id, device=a.setup.device_id))


def mismatched_site(a: Attack, n: int, topic: str) -> bytes:
    kind = topic_kind(topic)
    if kind == "status":
        return js(a.status("ghost-elsewhere", "cam7"))
    if topic.startswith(a.setup.base):
        return js(a.event("ghost-elsewhere", "cam7"))
    return js(a.event(a.setup.site_id, a.setup.camera_id, device=a.setup.device_id))


def forged_command(a: Attack, n: int, topic: str) -> bytes:
    """Unsigned, signed with a forger's key, signed for another command's topic, or with a made-up sig."""
    name = topic_kind(topic).split("/")[0]
    body = {
        "enforcement": {"enabled": False, "by": "anonymous"},
        "mute": {"muted": True, "by": "anonymous"},
        "test": {"target": "all"},
    }.get(name, {"enabled": False})
    body = {**body, "request_id": f"forged-{n}"}
    variant = n % 4
    if variant == 0:
        return js(body)
    if variant == 1:
        return sign_command(body, a.setup, topic, key=secrets.token_hex(32).encode())
    if variant == 2:
        other = f"{a.setup.base}/{'mute' if name != 'mute' else 'enforcement'}/set"
        return sign_command(body, a.setup, other)  # a genuine signature, for another topic
    return js({**body, "issued": time.time(), "nonce": secrets.token_hex(16), "sig": "0" * 64})


def replayed_command(a: Attack, n: int, topic: str) -> bytes:
    """The centre's genuine command captured and sent again: on its own topic or another command's."""
    return a.replayable


def empty_payload(a: Attack, n: int, topic: str) -> bytes:
    return b""


def binary_garbage(a: Attack, n: int, topic: str) -> bytes:
    return a.rng.randbytes(a.rng.choice((1, 17, 4096, 65_536)))


def long_strings(a: Attack, n: int, topic: str) -> bytes:
    escaped = "\\u0041" * 200_000  # 1.2 MB of text that decodes to 200 kB
    return ('{"group":"2","state":"WALK","reason":"' + escaped + '","x":["' + "y" * 100_000 + '"]}').encode()


def duplicate_keys(a: Attack, n: int, topic: str) -> bytes:
    kind = topic_kind(topic)
    if kind == "feed":
        return b'{"group":"2","state":"DONT_WALK","state":"WALK","ts":1,"ts":' + str(time.time()).encode() + b"}"
    if kind.endswith("/set"):
        return b'{"enabled":true,"enabled":false,"muted":false,"muted":true,"by":"a","by":"b"}'
    text = json.dumps(a.event(a.setup.site_id, a.setup.camera_id, device=a.setup.device_id))
    return text.replace('"type": "violation"', '"type": "crossing", "type": "violation"', 1).encode()


def availability_forgery(a: Attack, n: int, topic: str) -> bytes:
    return [b"offline", b"online\n", b"ONLINE", b"x" * 10_000, b"online\x00offline"][n % 5]


@dataclass(frozen=True)
class Kind:
    """One kind of hostile message: its name, the topics it goes to (in turn), its payload."""

    name: str
    topics: tuple[Topic, ...]
    payload: Callable[[Attack, int, str], bytes]
    max_count: int | None = None  # heavy kinds are capped, so the run stays bounded in time and memory
    restore_after: bool = False  # follow with the centre's genuine command that undoes it


KINDS: list[Kind] = [
    Kind("deep_nesting", ALL_TOPICS, deep_nesting),
    Kind("payload_8mb", (Topic.FEED, Topic.BOX_EVENTS, Topic.COMMAND, Topic.GHOST_EVENTS), payload_8mb, max_count=4),
    Kind("feed_200k_groups", (Topic.FEED, Topic.BOX_EVENTS), groups_200k, max_count=2),
    Kind("invalid_utf8", ALL_TOPICS, invalid_utf8),
    Kind("nul_bytes", ALL_TOPICS, nul_bytes),
    Kind("control_chars_in_fields", (Topic.COMMAND, Topic.BOX_EVENTS, Topic.FEED, Topic.BOX_STATUS), control_chars),
    Kind("wrong_types", (Topic.BOX_EVENTS, Topic.BOX_STATUS, Topic.COMMAND, Topic.FEED), wrong_types),
    Kind("huge_numbers_nan_inf", (Topic.FEED, Topic.BOX_EVENTS, Topic.BOX_STATUS, Topic.COMMAND), absurd_numbers),
    Kind("future_timestamps", (Topic.FEED, Topic.BOX_EVENTS), future_times),
    Kind("negative_times", (Topic.FEED, Topic.BOX_EVENTS), negative_times),
    Kind("unknown_groups", (Topic.FEED,), unknown_groups),
    Kind("forged_unknown_box", (Topic.GHOST_EVENTS, Topic.GHOST_STATUS, Topic.GHOST_AVAILABILITY), forged_unknown_box),
    Kind("forged_event_this_box", (Topic.BOX_EVENTS,), forged_this_box),
    Kind("schema_valid_wrong_site", (Topic.BOX_EVENTS, Topic.GHOST_EVENTS, Topic.BOX_STATUS), mismatched_site),
    Kind("forged_command_unsigned", (Topic.COMMAND,), forged_command, restore_after=True),
    Kind("replayed_command", (Topic.COMMAND,), replayed_command),
    Kind("empty_payload", ALL_TOPICS, empty_payload),
    Kind("binary_garbage", ALL_TOPICS, binary_garbage),
    Kind("json_bomb_long_strings", (Topic.BOX_EVENTS, Topic.BOX_STATUS, Topic.FEED, Topic.COMMAND), long_strings,
         max_count=20),
    Kind("duplicate_keys_and_availability", (Topic.BOX_EVENTS, Topic.FEED, Topic.COMMAND, Topic.BOX_AVAILABILITY),
         lambda a, n, t: availability_forgery(a, n, t) if t.endswith("/availability") else duplicate_keys(a, n, t)),
]


def schedule(total: int, rng: random.Random) -> list[tuple[Kind, int]]:
    """``total`` messages: the kinds in turn (capped ones drop out at their cap), in shuffled order;
    each ``(kind, n)`` is that kind's n-th message, which picks its topic and its variant."""
    counts = Counter[str]()
    plan: list[tuple[Kind, int]] = []
    while len(plan) < total:
        open_kinds = [k for k in KINDS if k.max_count is None or counts[k.name] < k.max_count]
        for kind in open_kinds:
            if len(plan) == total:
                break
            plan.append((kind, counts[kind.name]))
            counts[kind.name] += 1
    rng.shuffle(plan)
    return plan


@dataclass
class KindResult:
    sent: int = 0
    failed: int = 0
    bytes: int = 0
    topics: set[str] = field(default_factory=set)


class Attacker(threading.Thread):
    """Publishes the schedule, QoS 1, paced over ``window_s``; never past ``deadline``."""

    def __init__(self, attack: Attack, plan: list[tuple[Kind, int]], window_s: float, deadline: float) -> None:
        super().__init__(name="attacker", daemon=True)
        self.attack, self.plan, self.window_s, self.deadline = attack, plan, window_s, deadline
        self.published: set[str] = set()
        self.results: dict[str, KindResult] = {k.name: KindResult() for k in KINDS}
        self.restores = 0
        self.not_sent = 0
        self.genuine: dict[str, float] = {}  # request id of each of the centre's genuine commands → sent (monotonic)
        self.client = mqtt_client("attacker", attack.setup.broker_port)
        self.centre = mqtt_client("centre-commands", attack.setup.broker_port)

    def command(self, name: str, body: dict[str, Any], request_id: str | None = None) -> bytes:
        """The centre's genuine command (``sign_command``), published and returned as sent."""
        request_id = request_id or f"centre-{uuid.uuid4().hex[:12]}"
        topic = f"{self.attack.setup.base}/{name}/set"
        payload = sign_command({**body, "request_id": request_id}, self.attack.setup, topic)
        self.centre.publish(topic, payload, qos=1)
        self.genuine[request_id] = time.monotonic()
        return payload

    def restore(self) -> None:
        self.command("enforcement", {"enabled": True, "by": "centre"})
        self.command("mute", {"muted": False, "by": "centre"})
        self.restores += 1

    def run(self) -> None:
        self.attack.replayable = self.command("mute", {"muted": False, "by": "centre"}, "centre-replayed")
        started = time.monotonic()
        for i, (kind, n) in enumerate(self.plan):
            if time.monotonic() > self.deadline:
                self.not_sent = len(self.plan) - i
                break
            pause = started + i * self.window_s / len(self.plan) - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            topic = self.attack.topic(kind.topics[n % len(kind.topics)], n)
            payload = kind.payload(self.attack, n, topic)
            self.published.add(hashlib.sha1(payload).hexdigest())
            result = self.results[kind.name]
            ghost = topic.startswith("crossguard/ghost")
            result.topics.add(("unknown box " if ghost else "") + topic_kind(topic))
            if self._publish(topic, payload):
                result.sent += 1
                result.bytes += len(payload)
            else:
                result.failed += 1
            if kind.restore_after:
                time.sleep(0.5)  # long enough for the box to show what the forgery did
                self.restore()

    def _publish(self, topic: str, payload: bytes) -> bool:
        for _ in range(2):  # once more after a broker restart
            if not self._connected(10):
                continue
            info = self.client.publish(topic, payload, qos=1)
            with contextlib.suppress(ValueError, RuntimeError):
                info.wait_for_publish(timeout=30)
            if info.is_published():
                return True
        return False

    def _connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.client.is_connected()

    def stop(self) -> None:
        close_client(self.client)
        close_client(self.centre)


# --- HTTP --------------------------------------------------------------------------------------------


@dataclass
class ProbeResult:
    probe: str
    port: str  # "ops 9108", "web 8080"
    outcome: str  # "HTTP 413", "closed", "refused", ...
    ms: float
    note: str = ""


def raw_request(port: int, head: bytes, body: Iterable[bytes] = (), timeout: float = 20.0) -> tuple[str, str]:
    """Send ``head`` then ``body`` chunks, stopping as soon as the server answers; (outcome, note)."""
    sent = 0
    started = time.monotonic()
    try:
        sock = socket.create_connection((HOST, port), timeout=timeout)
    except OSError as exc:
        return "refused", str(exc)
    with sock:
        try:
            sock.sendall(head)
            for chunk in body:
                if select.select([sock], [], [], 0)[0] or time.monotonic() - started > 60:
                    break  # the server answered (or closed) before reading everything: good
                sock.sendall(chunk)
                sent += len(chunk)
            sock.settimeout(timeout)
            answer = sock.recv(4096)
        except (BrokenPipeError, ConnectionResetError) as exc:
            with contextlib.suppress(OSError):
                answer = sock.recv(4096)
                if answer:
                    return _status_of(answer), f"{sent / MB:.0f} MB sent before the server closed ({exc})"
            return "closed", f"{sent / MB:.0f} MB sent; {exc}"
        except OSError as exc:
            return "timeout" if isinstance(exc, socket.timeout) else "error", f"{sent / MB:.0f} MB sent; {exc}"
    if not answer:
        return "closed", f"{sent / MB:.0f} MB sent; no answer"
    return _status_of(answer), f"{sent / MB:.0f} MB sent"


def _status_of(answer: bytes) -> str:
    line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    return f"HTTP {parts[1]}" if len(parts) >= 2 and parts[0].startswith("HTTP/") else f"answered '{line[:40]}'"


def streamed(total: int, chunk: int = MB) -> Iterator[bytes]:
    block = b"[" + b"0," * (chunk // 2 - 1) + b"0"
    for _ in range(total // chunk):
        yield block[:chunk]


def chunked(total: int, chunk: int = MB) -> Iterator[bytes]:
    block = b"\xff" * chunk
    for _ in range(total // chunk):
        yield f"{chunk:x}\r\n".encode() + block + b"\r\n"
    yield b"0\r\n\r\n"


def head(method: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def http_probes(setup: Setup, cookie: str) -> list[tuple[str, Callable[[int], tuple[str, str]]]]:
    """(name, probe on a port) — each bounded in bytes and time."""
    auth = {"Cookie": f"cg_session={cookie}"} if cookie else {}
    json_head = {"Content-Type": "application/json"}

    def get(path: str, headers: dict[str, str] | None = None) -> Callable[[int], tuple[str, str]]:
        return lambda port: raw_request(port, head("GET", path, headers))

    return [
        ("300 MB body, no login (POST /api/zones/validate)", lambda port: raw_request(
            port, head("POST", "/api/zones/validate", {**json_head, "Content-Length": str(300 * MB)}),
            streamed(300 * MB))),
        ("50 MB chunked upload, no length, no login (PUT /api/zones/background.jpg)", lambda port: raw_request(
            port, head("PUT", "/api/zones/background.jpg", {"Content-Type": "image/jpeg",
                                                            "Transfer-Encoding": "chunked"}), chunked(50 * MB))),
        ("body without Content-Length (POST /api/login)", lambda port: raw_request(
            port, head("POST", "/api/login", json_head), iter([b'{"name":"x","password":"y"}']), timeout=5)),
        ("NUL in path, encoded (evidence file)", get("/api/evidence/x/files/a%00b.jpg", auth)),
        ("NUL in path, raw", lambda port: raw_request(port, b"GET /\x00/../etc HTTP/1.1\r\nHost: x\r\n\r\n")),
        ("/api/dashboard?day=9999-12-31", get("/api/dashboard?day=9999-12-31", auth)),
        ("/api/dashboard?day=0001-01-01", get("/api/dashboard?day=0001-01-01", auth)),
        ("/api/dashboard?day=<100 kB>", get("/api/dashboard?day=" + "9" * 100_000, auth)),
        ("/api/evidence?limit=10^21&offset=-5", get("/api/evidence?limit=" + "9" * 21 + "&offset=-5", auth)),
        ("bad session cookie", get("/api/dashboard", {"Cookie": "cg_session=" + "A" * 43})),
        ("100 kB cookie", get("/api/dashboard", {"Cookie": "cg_session=" + "B" * 100_000})),
        ("non-ASCII and NUL in cookie", lambda port: raw_request(
            port, b"GET /api/dashboard HTTP/1.1\r\nHost: x\r\nCookie: cg_session=\xff\xfe\x00;cg_csrf=\x00\r\n\r\n")),
        ("1 MB header", get("/status", {"X-Long": "a" * MB})),
        ("10,000 headers", get("/status", {f"X-H{i}": "v" for i in range(10_000)})),
    ]  # fmt: skip


def login(port: int) -> str:
    """A session cookie for the script's admin account on ``port`` ('' when there is no UI there)."""
    with contextlib.suppress(httpx.HTTPError):
        answer = httpx.post(f"http://{HOST}:{port}/api/login", json={"name": ADMIN[0], "password": ADMIN[1]}, timeout=5)
        if answer.status_code == 200:
            return answer.cookies.get("cg_session") or ""
    return ""


def http_attacks(setup: Setup, box: Child, deadline: float) -> list[ProbeResult]:
    """Every probe on every HTTP port of the box, one after the other (none while it restarts)."""
    results = []
    for use, port in setup.http_ports.items():
        label = f"{use} {port}"
        cookie = login(port)
        for name, probe in http_probes(setup, cookie):
            if time.monotonic() > deadline:
                results.append(ProbeResult(name, label, "not sent (time)", 0.0))
                continue
            if not box_ready(setup.ops_port, 60, box, through_restarts=True):
                results.append(ProbeResult(name, label, "not sent: the box's /status does not answer", 0.0))
                continue
            pid = box.pid
            before = memory_kb(pid)[0] if pid else 0
            started = time.monotonic()
            outcome, note = probe(port)
            ms = (time.monotonic() - started) * 1000
            if outcome == "refused":
                results.append(ProbeResult("(every request)", label, "refused: nothing listens there", round(ms)))
                break
            after = memory_kb(pid)[1] if pid else 0
            if pid != box.pid:
                note += "; the box ended during this request"
            elif before and after:
                note += f"; box RSS {before / 1024:.0f} MB before, peak so far {after / 1024:.0f} MB"
            results.append(ProbeResult(name, label, outcome, round(ms), note + ("" if cookie else "; no login")))
    return results


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class Step:
    what: str  # "kill" or "broker restart"
    outcome: str
    elapsed: float
    violation: str = ""
    delay_ms: float | None = None  # from seeing the violation to the signal
    since_write_ms: float | None = None  # from the journal's write (file time) to the signal
    recovered_s: float | None = None


def plan_steps(kills: int, restarts: int) -> list[str]:
    """Kills with the broker restarts spread between them."""
    steps: list[str] = []
    done = 0
    for i in range(kills):
        steps.append("kill")
        while done < restarts and (i + 1) * restarts // max(kills, 1) > done:
            steps.append("broker restart")
            done += 1
    return steps + ["broker restart"] * (restarts - done)


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.t0 = time.monotonic()
        self.t0_utc = time.time()
        self.end = self.t0 + args.minutes * 60
        self.drain_s = max(40.0, args.minutes * 60 * 0.15)
        self.rng = random.Random(args.seed)
        work = Path(tempfile.mkdtemp(prefix="cg-faults-", dir=args.work))
        self.setup = Setup(work, args.site, args.video, args.model)
        self.broker = Broker(work / "broker")
        self.setup.broker_port = self.broker.port
        box_site(self.setup)
        self.box = Child("box", [sys.executable, "-m", "edge.cli", "run", "--site", str(self.setup.site_file)],
                         work / "logs" / "box.log")  # fmt: skip
        self.centre = Child("centre", centre_command(self.setup), work / "logs" / "centre.log")
        self.journal = Journal(self.setup.data_dir / "events")
        self.steps: list[Step] = []
        self.broker_restarts: list[float] = []
        self.outbox_wait_s: float | None = None
        self.outbox_last = ""  # what the last look at the outbox found while waiting
        self.outages: list[tuple[float, float]] = []  # (from, to) monotonic: box killed until ready, broker down

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def left(self) -> float:
        return self.end - time.monotonic()

    # -- setting up --

    def start(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "edge.cli", "users", "add", ADMIN[0], "--role", "admin", "--password-stdin",
             "--users-db", str(self.setup.users_db)],
            input=ADMIN[1] + "\n", text=True, cwd=REPO, env=child_env(), check=True, capture_output=True,
        )  # fmt: skip
        self.broker.start()
        self.centre.start()
        self.controller = Controller(self.setup.broker_port)
        self.controller.start()
        self.attacker = Attacker(Attack(self.setup, self.rng), schedule(self.args.messages, self.rng), 0, 0)
        self.monitor = Monitor(self.setup, self.attacker.published, self.elapsed)
        self.box.start()
        if not box_ready(self.setup.ops_port, 180, self.box):
            raise RuntimeError(f"the box did not come up; see {self.box.log}")
        self.monitor.start(
            {"box": lambda: self.box.pid, "centre": lambda: self.centre.pid, "broker": lambda: self.broker.pid}
        )

    # -- the attacks --

    def attack(self) -> None:
        budget = self.left() - self.drain_s
        self.attacker.window_s = max(10.0, budget * 0.35)
        self.attacker.deadline = time.monotonic() + budget * 0.6
        self.attacker.start()
        # HTTP first, on the fresh box, while the hostile messages flow: no kill can cut a request short
        self.http = http_attacks(self.setup, self.box, time.monotonic() + budget * 0.3)
        steps = plan_steps(self.args.kills, self.args.broker_restarts)
        for i, step in enumerate(steps):
            remaining = self.left() - self.drain_s
            if remaining < 15:
                self.steps += [Step(s, "not done (time)", round(self.elapsed(), 1)) for s in steps[i:]]
                break
            done = self._step(step, remaining / (len(steps) - i))
            self.steps.append(done)
            print(f"+{self.elapsed():.0f} s: {done.what} {done.outcome}", flush=True)

    def _step(self, what: str, budget: float) -> Step:
        self._keep_running()
        self._enforcement_on()
        violation, seen, mtime = self._next_violation(time.monotonic() + max(10.0, budget - 8))
        elapsed = round(self.elapsed(), 1)
        label = violation.get("event_id", "") if violation else ""
        outcome = "after a violation" if violation else "no violation in time; done anyway"
        if what == "kill":
            kills_before = sum(1 for s in self.steps if s.what == "kill")
            time.sleep((kills_before % 5) * 0.025)  # 0, 25, 50, 75, 100 ms after the violation was seen
            if not self.box.running:
                return Step(what, "box not running", elapsed, label)
            killed = self.box.kill9()
            delay = (killed - seen) * 1000 if violation else None
            since_write = (time.time() - (time.monotonic() - killed) - mtime) * 1000 if violation else None
            started = time.monotonic()
            self.box.start()
            ok = box_ready(self.setup.ops_port, 120, self.box)
            self.outages.append((killed, time.monotonic()))
            return Step(what, outcome if ok else outcome + "; box did not come back", elapsed, label,
                        _r(delay), _r(since_write), round(time.monotonic() - started, 1) if ok else None)  # fmt: skip
        stopping = time.monotonic()
        self.broker.stop()
        self.broker_restarts.append(self.elapsed())
        time.sleep(1.0)
        started = time.monotonic()
        self.broker.start()
        self.outages.append((stopping, time.monotonic() + 3.0))  # + the clients' reconnect delay
        return Step(what, outcome, elapsed, label, recovered_s=round(time.monotonic() - started, 1))

    def _next_violation(self, deadline: float) -> tuple[dict[str, Any] | None, float, float]:
        """Wait for the box to write a new violation; (event, when seen, journal file time)."""
        self.journal.poll()
        while time.monotonic() < deadline and self.left() > self.drain_s:
            for event in self.journal.poll():
                if event.get("type") == "violation":
                    seen = time.monotonic()
                    mtimes = [p.stat().st_mtime for p in self.journal.folder.glob("events-*.jsonl")]
                    return event, seen, max(mtimes, default=time.time())
            if not self._keep_running():
                box_ready(self.setup.ops_port, 120, self.box)
            time.sleep(0.01)
        return None, time.monotonic(), time.time()

    def _keep_running(self) -> bool:
        """Restart the box or the centre if one ended by itself (noted); True if both were running."""
        fine = True
        for child in (self.box, self.centre):
            if not child.check(self.elapsed):
                fine = False
                child.start()
        return fine

    def _enforcement_on(self) -> None:
        """A forged switch-off that stuck (say, the box was killed before the switch-on) is undone."""
        status = self.monitor.latest_http() or {}
        operator = status.get("operator") or {}
        if operator.get("enforcement", {}).get("enabled") is False or operator.get("mute", {}).get("muted"):
            self.attacker.restore()

    # -- the end --

    def drain(self) -> None:
        self.attacker.join(max(0.0, self.left() - self.drain_s))
        self._enforcement_on()
        deadline, stored, changed = self.end - 25, set(), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - changed < 20:  # until nothing more arrives
            self._keep_running()
            decided = {e["event_id"] for e in Journal.read_all(self.journal.folder)[0]}
            now_stored = self._stored_ids()
            if decided <= now_stored:
                break
            if now_stored != stored:
                stored, changed = now_stored, time.monotonic()
            time.sleep(1.0)
        self.outbox_wait_s = self._await_outbox(60.0)
        self.box_exit = self.box.stop(40)
        self._await_centre(20)
        self.attacker.join(1)
        self.centre_exit = self.centre.stop(20)

    def _await_outbox(self, timeout: float) -> float | None:
        """Wait until the box owes the centre nothing (no event or evidence queued, no violation awaiting
        its evidence outcome) or ``timeout``; the seconds waited, None on timeout."""
        started = time.monotonic()
        path = self.setup.data_dir / "mqtt-outbox.sqlite"
        while time.monotonic() - started < timeout:
            self._keep_running()
            depth, error = outbox_depth(path)
            self.outbox_last = error or f"{depth} owed"
            if depth == 0:
                return round(time.monotonic() - started, 1)
            time.sleep(0.5)
        return None

    def _stored_ids(self) -> set[str]:
        events, _, _ = read_centre(self.setup.centre_db)
        return {eid for eid, site, camera, _ in events if (site, camera) == (self.setup.site_id, self.setup.camera_id)}

    def _await_centre(self, timeout: float) -> None:
        deadline, last, stable_since = time.monotonic() + timeout, -1, time.monotonic()
        events = Journal.read_all(self.journal.folder)[0]
        decided = {e["event_id"] for e in events}
        violations = {e["event_id"] for e in events if e.get("type") == "violation"}
        box = (self.setup.site_id, self.setup.camera_id)
        while time.monotonic() < deadline:
            stored = self._stored_ids()
            if decided <= stored and violations <= set(read_ledger(self.setup.centre_db).outcomes.get(box, {})):
                return
            if len(stored) != last:
                last, stable_since = len(stored), time.monotonic()
            elif time.monotonic() - stable_since > 8:
                return
            time.sleep(0.5)

    def close(self) -> None:
        for stop in (
            lambda: self.box.stop(10), lambda: self.centre.stop(10), lambda: self.monitor.stop(),
            lambda: self.controller.stop(), lambda: self.attacker.stop(), self.broker.stop,
        ):  # fmt: skip
            with contextlib.suppress(Exception):
                stop()


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- the verdict ------------------------------------------------------------------------------------------


def judge_status(sample: StatusSample, group_sources: dict[str, set[str]]) -> tuple[list[str], str]:
    """(UNKNOWN groups, what showed an alarm for each — '' when nothing did for some group).

    A group's UNKNOWN is alarmed when the box says it is not ready (/healthz 503, with its reasons),
    or when a signal source that is down or degraded — in /status ``signal_sources`` or in the MQTT
    status' ``signal.sources`` — is one that provides the group or names the group in its detail
    (the hub's alarms, such as a contradiction or a feed clock running ahead, name their group).
    A non-ready box alarms for every group; a degraded source elsewhere explains nothing."""
    states = (sample.mqtt.get("signal") or {}).get("states") or {}
    unknown = sorted(g for g, s in states.items() if s == "UNKNOWN")
    if not unknown:
        return [], ""
    http = sample.http or {}
    if http and not http.get("ready", True):
        return unknown, "not ready: " + "; ".join(map(str, http.get("reasons") or []))
    troubled = [(str(s.get("name")), str(s.get("detail") or "")) for s in
                (sample.mqtt.get("signal") or {}).get("sources") or [] if not s.get("ok")]  # fmt: skip
    for name, health in (http.get("signal_sources") or {}).items():
        if isinstance(health, dict) and health.get("state") != "ok":
            troubled.append((str(name), f"{health.get('state')}: {health.get('detail', '')}"))
    why = []
    for group in unknown:
        providers = group_sources.get(group, set())
        found = [f"{name}: {detail}" for name, detail in troubled
                 if group in detail or any(name == p or name.startswith(p + ":") for p in providers)]  # fmt: skip
        if not found:
            return unknown, ""
        why.append(f"{group}: {found[0]}")
    return unknown, "; ".join(why)


def context(t: float, broker_restarts: list[float], box_starts: list[float]) -> str:
    """What happened shortly before ``t``: a broker restart or a box start."""
    found = []
    for what, moments in (("a broker restart", broker_restarts), ("a box start", box_starts)):
        before = [t - m for m in moments if 0 <= t - m <= 20]
        if before:
            found.append(f"{min(before):.0f} s after {what}")
    return ", ".join(found)


def report(run: Run) -> dict[str, Any]:
    setup = run.setup
    decided_events, torn = Journal.read_all(setup.data_dir / "events")
    decided_ids = Counter(e["event_id"] for e in decided_events)
    centre_events, centre_sites, centre_error = read_centre(setup.centre_db)
    box_key = (setup.site_id, setup.camera_id)
    stored_ids = Counter(eid for eid, site, camera, _ in centre_events if (site, camera) == box_key)
    ghost = [eid for eid, site, _, _ in centre_events if site != setup.site_id]
    queued, outbox_error = outbox_event_ids(setup.data_dir / "mqtt-outbox.sqlite")
    missing = sorted(set(decided_ids) - set(stored_ids))
    decided_by_id = {e["event_id"]: e for e in decided_events}
    extra = sorted(set(stored_ids) - set(decided_ids))
    by_kind = Counter(e.get("type") for e in decided_events)
    stored_payloads = [p for _, site, camera, p in centre_events if (site, camera) == box_key]
    same_crossing = Counter(  # the same decision stored under two ids
        (p.get("crosswalk"), p.get("type"), p.get("track_id"), p.get("entry_time"))
        for p in stored_payloads
        if p.get("id") in decided_ids
    )
    ledger = read_ledger(setup.centre_db)
    outcomes = ledger.outcomes.get(box_key, {})
    violations = sorted({e["event_id"] for e in decided_events if e.get("type") == "violation"})
    evidence = {
        "violations_decided": len(violations),
        "outcomes_stored": len(set(violations) & set(outcomes)),
        "by_status": dict(Counter(outcomes[v] for v in violations if v in outcomes)),
        "without_outcome": [lost(decided_by_id[v], run) for v in violations if v not in outcomes],
        "outcomes_for_undecided_ids": sorted(set(outcomes) - set(violations)),
        "centre_db_error": ledger.error,
    }
    unknown_boxes = {k: n for k, n in ledger.dead_letters.items() if k != f"{setup.site_id}/{setup.camera_id}"}
    dead_letters = {
        "total": sum(ledger.dead_letters.values()),
        "this_box": ledger.dead_letters.get(f"{setup.site_id}/{setup.camera_id}", 0),
        "unknown_boxes": sum(unknown_boxes.values()),
        "reasons": dict(ledger.dead_reasons.most_common(8)),
    }
    forged_here = set(extra) & run.attacker.attack.forged_ids
    events = {
        "decided": len(decided_ids),
        "decided_by_type": dict(by_kind),
        "stored": len(stored_ids),
        "missing": missing,
        "missing_detail": [lost(decided_by_id[i], run) for i in missing],
        "missing_still_in_outbox": sorted(set(missing) & queued),
        "extra": extra,
        "extra_forged_by_this_script": sorted(forged_here),
        "extra_not_forged": sorted(set(extra) - forged_here),
        "duplicates_in_journal": sorted(i for i, n in decided_ids.items() if n > 1),
        "duplicates_stored": sorted(i for i, n in stored_ids.items() if n > 1),
        "same_crossing_stored_twice": [list(k) for k, n in same_crossing.items() if n > 1],
        "torn_journal_lines": torn,
        "forged_events_stored_for_unknown_boxes": len(ghost),
        "unknown_boxes_listed_at_centre": sorted(
            {f"{s['site']}/{s['camera']}" for s in centre_sites if s.get("site") != setup.site_id}
        ),
        "centre_rejected": {f"{s['site']}/{s['camera']}": s.get("rejected") for s in centre_sites},
        "centre_redeliveries": sum(int(s.get("duplicates") or 0) for s in centre_sites),
        "centre_db_error": centre_error,
        "outbox_error": outbox_error,
    }
    samples = run.monitor.statuses
    offending, unknown_samples, alarms = [], 0, Counter[str]()
    box_starts = [s - run.t0 for s in run.box.starts]
    for sample in samples:
        if any(0 <= sample.elapsed - s < STARTUP_GRACE_S for s in box_starts):
            continue
        groups, alarm = judge_status(sample, setup.group_sources)
        unknown_samples += bool(groups)
        if alarm:
            alarms[alarm[:100]] += 1
        if groups and not alarm:
            sources = (sample.mqtt.get("signal") or {}).get("sources") or []
            offending.append({
                "elapsed_s": sample.elapsed,
                "groups": groups,
                "ready": (sample.http or {}).get("ready"),
                "http_status_seen": sample.http is not None,
                "sources": "; ".join(f"{s.get('name')}: {s.get('detail')}" for s in sources if not s.get("ok")),
                "context": context(sample.elapsed, run.broker_restarts, box_starts),
            })  # fmt: skip
    answers = run.monitor.answers
    forged = {rid: a for rid, a in answers.items() if rid.startswith("forged-")}
    # the first answer is to the genuine command, every further one to a replay of it
    replays_accepted = max(0, sum(1 for a in answers.get("centre-replayed", []) if a.get("ok")) - 1)
    genuine = run.attacker.genuine
    genuine_ok = sum(1 for rid in genuine if any(a.get("ok") for a in answers.get(rid, [])))
    def during_outage(sent: float) -> str:
        return " (sent while the box or the broker was down)" if any(
            start - 0.5 <= sent <= end for start, end in run.outages) else ""  # fmt: skip

    genuine_refused = Counter(  # e.g. queued while the box was down: issued before it started
        (str(answers[rid][0].get("error", ""))[:70] or "refused" if answers.get(rid) else "no answer")
        + during_outage(sent)
        for rid, sent in genuine.items() if not any(a.get("ok") for a in answers.get(rid, []))
    )
    if any(any(x.get("ok") for x in a) for a in forged.values()) or replays_accepted:
        failures_commands = ["forged or replayed command accepted"]
    else:
        failures_commands = []
    if genuine and not genuine_ok:
        failures_commands.append("no genuine (signed) command accepted")
    memory = {
        role: {"peak_mb": round(max(pids.values(), default=0) / 1024, 1), "pids": len(pids)}
        for role, pids in run.monitor.rss_kb.items()
    }
    log_bytes = run.box.log.stat().st_size if run.box.log.exists() else 0
    tracebacks = {c.name: log_count(c.log, b"Traceback (most recent call last)") for c in (run.box, run.centre)}
    failures = []
    # Events this run forged on the box's own topic are stored: this run's broker has no ACL, and the
    # documented one lets only the box publish there. They are counted, not failed; anything else is.
    if missing or events["extra_not_forged"] or centre_error:
        failures.append("decided != stored")
    if ghost:
        failures.append("forged events stored for unknown boxes")
    if evidence["without_outcome"] or ledger.error:
        failures.append("violations without an evidence outcome at the centre")
    if events["duplicates_in_journal"] or events["duplicates_stored"] or events["same_crossing_stored_twice"]:
        failures.append("duplicates")
    if offending:
        failures.append("UNKNOWN without an alarm")
    if not samples:
        failures.append("no status from the box to judge UNKNOWN by")
    failures += failures_commands
    return {
        "when": iso_utc(time.time()),
        "options": {k: str(v) for k, v in vars(run.args).items()},
        "work": str(setup.work),
        "messages": {
            name: {"sent": r.sent, "failed": r.failed, "mb": round(r.bytes / MB, 2), "topics": sorted(r.topics)}
            for name, r in run.attacker.results.items()
        },
        "messages_not_sent_time": run.attacker.not_sent,
        "centre_commands_restoring": run.attacker.restores,
        "forged_commands": {
            "answered": len(forged),
            "accepted": sorted(rid for rid, a in forged.items() if any(x.get("ok") for x in a)),
        },
        "replays_accepted": replays_accepted,
        "genuine_commands": {"sent": len(genuine), "accepted": genuine_ok, "not_accepted": dict(genuine_refused)},
        "steps": [asdict(s) for s in run.steps],
        "http": [asdict(r) for r in run.http],
        "events": events,
        "evidence": evidence,
        "dead_letters": dead_letters,
        "outbox_drained_in_s": run.outbox_wait_s,
        "outbox_last_seen": run.outbox_last,
        "memory": memory,
        "status_samples": len(samples),
        "unknown_samples": unknown_samples,
        "unknown_without_alarm": offending,
        "unknown_alarms": dict(alarms.most_common(6)),
        "box_exits_by_itself": run.box.unexpected_exits,
        "centre_exits_by_itself": run.centre.unexpected_exits,
        "box_exit_code_at_stop": run.box_exit,
        "centre_exit_code_at_stop": run.centre_exit,
        "box_log_mb": round(log_bytes / MB, 1),
        "tracebacks_in_logs": tracebacks,
        "http_status_failures": run.monitor.http_failures,
        "controller_messages": run.controller.sent,
        "failures": failures,
    }


def log_count(path: Path, needle: bytes) -> int:
    with contextlib.suppress(OSError), path.open("rb") as f:
        return sum(line.count(needle) for line in f)
    return 0


def lost(event: dict[str, Any], run: Run) -> str:
    """A missing event in words: type, crosswalk, when it was decided and what happened just then."""
    at = float(event.get("decided_utc") or 0) - run.t0_utc
    steps = [f"{s.what} {s.elapsed - at:.1f} s later" for s in run.steps if 0 <= s.elapsed - at <= 10]
    where = f" ({', '.join(steps)})" if steps else ""
    return f"{event['event_id']} {event.get('type')} on {event.get('crosswalk_id')}, decided at +{at:.1f} s{where}"


def print_report(r: dict[str, Any]) -> None:
    print(f"\n=== fault injection, {r['when']} ({r['work']}) ===")
    print(f"\n{'hostile message kind':34} {'sent':>5} {'failed':>6} {'MB':>8}  topics")
    for name, m in r["messages"].items():
        print(f"{name:34} {m['sent']:>5} {m['failed']:>6} {m['mb']:>8.2f}  {', '.join(m['topics'])}")
    total = sum(m["sent"] for m in r["messages"].values())
    print(f"{'total':34} {total:>5}   ({r['messages_not_sent_time']} not sent for lack of time)")
    fc, gc = r["forged_commands"], r["genuine_commands"]
    print(f"forged commands (unsigned, wrong key, other topic, made-up sig): {fc['answered']} answered,"
          f" {len(fc['accepted'])} accepted; replays of a genuine command accepted: {r['replays_accepted']};"
          f" centre's signed commands: {gc['sent']} sent, {gc['accepted']} accepted"
          f" (switch-on after a forgery {r['centre_commands_restoring']} times)")  # fmt: skip
    for why, n in gc["not_accepted"].items():
        print(f"    {n:>5}  signed command not accepted: {why}")

    print(f"\n{'step':15} {'at s':>6} {'ms after':>9} {'ms after':>9} {'back in':>8}  outcome")
    print(f"{'':15} {'':>6} {'seen':>9} {'written':>9} {'s':>8}")
    for s in r["steps"]:
        cells = [s["delay_ms"], s["since_write_ms"], s["recovered_s"]]
        text = ["-" if c is None else f"{c:.0f}" if i < 2 else f"{c:.1f}" for i, c in enumerate(cells)]
        print(f"{s['what']:15} {s['elapsed']:>6.0f} {text[0]:>9} {text[1]:>9} {text[2]:>8}  {s['outcome']}"
              + (f" ({s['violation'][:8]})" if s["violation"] else ""))  # fmt: skip

    print(f"\n{'HTTP request':66} {'port':>9} {'ms':>6}  outcome")
    for h in r["http"]:
        flag = "  <-- server error" if h["outcome"].startswith("HTTP 5") else ""
        note = f" ({h['note']})" if h["note"] else ""
        print(f"{h['probe'][:66]:66} {h['port']:>9} {h['ms']:>6.0f}  {h['outcome']}{note}{flag}")

    e = r["events"]
    print(f"\nevents decided by the box: {e['decided']} {e['decided_by_type']}; stored at the centre: {e['stored']}")
    queued = e["missing_still_in_outbox"]
    print(f"  missing at the centre: {len(e['missing'])} ({len(queued)} still in the box's outbox)")
    for eid, text in zip(e["missing"], e["missing_detail"], strict=True):
        print(f"    {text}" + ("  (in outbox)" if eid in queued else ""))
    forged = e["extra_forged_by_this_script"]
    print(f"  stored but never decided: {len(e['extra'])} ({len(forged)} forged by this run on the box's own"
          " topic, which this run's broker lets anyone publish on: no ACL)")
    for eid in sorted(set(e["extra"]) - set(forged)):
        print(f"    {eid} (not forged by this run)")
    print(f"  duplicates: journal {len(e['duplicates_in_journal'])}, centre {len(e['duplicates_stored'])},"
          f" same crossing stored twice {len(e['same_crossing_stored_twice'])};"
          f" torn journal lines {e['torn_journal_lines']}")  # fmt: skip
    print(f"  centre: {e['forged_events_stored_for_unknown_boxes']} forged events stored for unknown boxes,"
          f" {len(e['unknown_boxes_listed_at_centre'])} unknown boxes listed, re-deliveries {e['centre_redeliveries']},"
          f" rejected {e['centre_rejected']}" + (f"; DB: {e['centre_db_error']}" if e["centre_db_error"] else ""))

    ev, dl = r["evidence"], r["dead_letters"]
    drained = r["outbox_drained_in_s"]
    outbox = f"empty after {drained} s" if drained is not None else f"not empty after 60 s: {r['outbox_last_seen']}"
    print(f"\nviolations decided: {ev['violations_decided']}; evidence outcomes stored at the centre:"
          f" {ev['outcomes_stored']} {ev['by_status']}; without an outcome: {len(ev['without_outcome'])}"
          f" (box outbox {outbox})")
    for text in ev["without_outcome"]:
        print(f"    {text}")
    if ev["outcomes_for_undecided_ids"]:
        print(f"  outcomes for ids the box never decided: {len(ev['outcomes_for_undecided_ids'])}")
    print(f"dead letters at the centre: {dl['total']} ({dl['unknown_boxes']} from unknown boxes,"
          f" {dl['this_box']} on the box's own topics)")
    for reason, n in dl["reasons"].items():
        print(f"    {n:>5}  {reason}")

    print(f"\n{'process':8} {'peak RSS MB':>12} {'PIDs':>5}")
    for role, m in r["memory"].items():
        print(f"{role:8} {m['peak_mb']:>12.1f} {m['pids']:>5}")

    print(f"\nbox status samples judged: {r['status_samples']}, with a group UNKNOWN: {r['unknown_samples']},"
          f" UNKNOWN without an alarm: {len(r['unknown_without_alarm'])}")  # fmt: skip
    for alarm, n in r["unknown_alarms"].items():
        print(f"    {n:>5}  alarmed by {alarm}")
    shown: set[tuple[str, ...]] = set()
    for o in r["unknown_without_alarm"]:
        key = (tuple(o["groups"]), o["sources"][:60])
        if key in shown:
            continue
        shown.add(key)
        where = f" [{o['context']}]" if o["context"] else ""
        print(f"  +{o['elapsed_s']:.0f} s: {', '.join(o['groups'])} UNKNOWN, ready={o['ready']};"
              f" sources: {o['sources'] or '-'}{where}")  # fmt: skip
    if r["box_exits_by_itself"] or r["centre_exits_by_itself"]:
        print(f"ended by themselves: box {r['box_exits_by_itself']}, centre {r['centre_exits_by_itself']}")
    print(f"box log {r['box_log_mb']} MB; tracebacks logged {r['tracebacks_in_logs']};"
          f" /status unanswered {r['http_status_failures']} times;"
          f" exit codes at stop: box {r['box_exit_code_at_stop']}, centre {r['centre_exit_code_at_stop']}")  # fmt: skip
    verdict = "PASS" if not r["failures"] else "FAIL: " + "; ".join(r["failures"])
    print(f"\nverdict: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="total time budget (at least 2)")
    parser.add_argument("--messages", type=int, default=1000, help="hostile MQTT messages to publish")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs of the box just after a violation")
    parser.add_argument("--broker-restarts", type=int, default=2, help="broker restarts (SIGTERM, start)")
    parser.add_argument("--out", type=Path, help="folder for results.json (and the logs, kept)")
    parser.add_argument("--model", type=Path, help="detector model (default: the site's)")
    parser.add_argument("--site", type=Path, default=REPO / "sites" / "demo" / "site.yaml")
    parser.add_argument("--video", type=Path, default=shared("video/crosswalk_elevated_fixed.mp4"))
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--work", type=Path, help="where the work folder is made (default: the temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (broker, box, centre files)")
    args = parser.parse_args()
    args.minutes = max(2.0, args.minutes)
    args.site = args.site.resolve()
    args.model = resolve_model(args.site, args.model)
    if not args.video.is_file() or not args.model.is_file():
        print(f"missing input: {args.video if not args.video.is_file() else args.model}", file=sys.stderr)
        return 2
    if not Path(shutil.which("mosquitto") or "/usr/sbin/mosquitto").exists():
        print("mosquitto is not installed (scripts/setup-test-env.sh installs it)", file=sys.stderr)
        return 2

    run = Run(args)
    print(f"work folder {run.setup.work}; box ports {run.setup.http_ports}, broker {run.setup.broker_port}", flush=True)
    try:
        try:
            run.start()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            print(f"set-up failed: {exc}", file=sys.stderr)
            return 2
        print(f"+{run.elapsed():.0f} s: box, centre and broker up; attacking", flush=True)
        run.attack()
        print(f"+{run.elapsed():.0f} s: steps done; letting the box deliver", flush=True)
        run.drain()
        result = report(run)
    finally:
        run.close()
    print_report(result)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        shutil.copytree(run.setup.work / "logs", args.out / "logs", dirs_exist_ok=True)
        print(f"results written to {args.out / 'results.json'}")
    if not args.keep:
        shutil.rmtree(run.setup.work, ignore_errors=True)
    return 1 if result["failures"] else 0


def resolve_model(site: Path, model: Path | None) -> Path:
    """``--model``, else the site's; a path that is not a file is looked up in the shared data folder."""
    if model is None:
        model = Path(YAML(typ="safe").load(site.read_text(encoding="utf-8"))["detector"]["model"])
        model = model if model.is_absolute() else (site.parent / model).resolve()
    return model if model.is_file() else shared(str(model) if not model.is_absolute() else f"models/{model.name}")


if __name__ == "__main__":
    sys.exit(main())
