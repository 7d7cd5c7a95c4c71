"""A real uvicorn server on 127.0.0.1 serving the UI over a copy of the demo site, and logins per role."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher

from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType, event_id
from edge.signal.types import SignalState
from edge.users import Role, UserStore
from edge.web import WebContext, create_app
from edge.web.auth import CSRF_HEADER
from edge.web.context import DeviceView, GroupSignal, LiveReadings, SourceView, StorageView
from edge.web.standalone import SitePicture
from tests.conftest import REPO, require_shared

PASSWORD = "correct horse battery"
# Cheaper argon2 parameters than production so a test run stays quick; the algorithm is the same.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
DEMO_SITE = REPO / "sites" / "demo" / "site.yaml"
DEMO_SOURCE = "../../../shared/data/video/crosswalk_elevated_fixed.mp4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_site(folder: Path) -> Path:
    """The demo site file, comments and all, with its camera pointing at the shared video."""
    video = require_shared("video/crosswalk_elevated_fixed.mp4")
    text = DEMO_SITE.read_text(encoding="utf-8")
    assert DEMO_SOURCE in text
    path = folder / "site.yaml"
    path.write_text(text.replace(DEMO_SOURCE, str(video)), encoding="utf-8")
    return path


@dataclass
class Server:
    url: str
    site_path: Path
    context: WebContext
    applied: list[SiteConfig] = field(default_factory=list)
    server: uvicorn.Server | None = None

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False, **kwargs)  # type: ignore[arg-type]

    def login(self, role: Role | str, **kwargs: object) -> httpx.Client:
        """A client holding a session of the user named after ``role``; CSRF header preset."""
        name = role.value if isinstance(role, Role) else role
        with self.client(**kwargs) as first:
            r = first.post("/api/login", json={"name": name, "password": PASSWORD})
            assert r.status_code == 200, r.text
        client = self.client(cookies=first.cookies, **kwargs)  # not yet opened: usable in a with-block
        client.headers[CSRF_HEADER] = r.json()["csrf_token"]
        return client


def serve(context: WebContext, port: int | None = None, **ssl: str) -> Iterator[uvicorn.Server]:
    app = create_app(context)
    app.state.web.users.hasher = FAST_HASHER
    config = uvicorn.Config(app, host="127.0.0.1", port=port or free_port(), log_level="warning", **ssl)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# ---- what a running service would hand the dashboard ---------------------------------------------

SITE_ZONE = ZoneInfo("America/Chicago")  # the demo site's site.timezone
SIGNAL_SINCE_S = 65.0


def journal_event(n: int, kind: EventType, entry_utc: float, crosswalk: str = "cw-main") -> CrossingEvent:
    """Event ``n`` as the pipeline decides it, entered at ``entry_utc`` and decided 1.5 s later."""
    return CrossingEvent(
        event_id=event_id("demo-campus-01", "cam1", crosswalk, kind, entry_utc, n),
        type=kind, site_id="demo-campus-01", camera_id="cam1", crosswalk_id=crosswalk, signal_group="ped-main",
        track_id=n, direction="near->far", from_curb="near", to_curb="far",
        entry_frame=10 * n, entry_t=float(n), entry_utc=entry_utc,
        decided_frame=10 * n + 16, decided_t=n + 1.5, decided_utc=entry_utc + 1.5,
        signal_state=SignalState.DONT_WALK if kind is EventType.VIOLATION else SignalState.WALK,
        signal_since_t=0.0, since_dont_walk_s=3.0 if kind is EventType.VIOLATION else None,
        enforced=kind is EventType.VIOLATION, entry_observed=True, reason="test",
        foot_point=(320.0, 300.0), box=(300.0, 200.0, 340.0, 300.0), score=0.9,
    )  # fmt: skip


def write_journal(folder: Path, events: list[CrossingEvent]) -> None:
    """The lines the service's event journal writes, in its files per UTC day of the decision."""
    folder.mkdir(parents=True, exist_ok=True)
    for event in events:
        day = datetime.fromtimestamp(event.decided_utc, timezone.utc).strftime("%Y-%m-%d")
        with (folder / f"events-{day}.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":")) + "\n")


def todays_events() -> list[CrossingEvent]:
    """Six crossings today at the site (one a violation), and one from yesterday that must not count."""
    now = time.time()
    midnight = datetime.combine(datetime.fromtimestamp(now, SITE_ZONE).date(), datetime.min.time(), SITE_ZONE)
    start = midnight.timestamp()
    early, late = start + 0.25 * (now - start), start + 0.9 * (now - start)
    events = [journal_event(n, EventType.CROSSING, early + n) for n in range(4)]
    events += [journal_event(0, EventType.VIOLATION, early), journal_event(4, EventType.CROSSING, late)]
    events += [journal_event(5, EventType.CROSSING, late + 1), journal_event(6, EventType.CROSSING, start - 600)]
    return events


def service_status() -> dict[str, object]:
    """The parts of ``edge.ops.status.ServiceStatus`` the dashboard reads."""
    return {
        "fps": 11.0, "frames_dropped": 3, "camera_state": "live", "camera_error": "", "picture": "ok",
        "enforcement_suspended": False, "suspension_reason": "",
        "clock": {"synchronised": True, "offset_s": 0.002, "source": "chronyc"},
        "adapters": {"journal": {"ok": True, "detail": "7 event(s) written"},
                     "mqtt": {"ok": True, "detail": "connected, outbox 2"}},
    }  # fmt: skip


def live_readings() -> LiveReadings:
    return LiveReadings(
        signals={
            "ped-main": GroupSignal(
                "ped-main", "DONT_WALK", time.time() - SIGNAL_SINCE_S, "", [SourceView("timeline", "ok")]
            )
        },
        inference_ms=41.5,
        devices=[DeviceView("speaker", "audio", "ok"), DeviceView("sign", "alpha_sign", "down", "connection refused")],
        outbox_depth=2,
        storage=StorageView(120 * 10**9, 0.42, 512 * 1024 * 1024),
    )


def add_role_users(users_db: Path) -> None:
    store = UserStore(users_db, hasher=FAST_HASHER)
    for role in Role:
        store.add(role.value, role, PASSWORD)


def start_server(tmp_path: Path) -> Iterator[Server]:
    site_path = make_site(tmp_path)
    users_db = tmp_path / "state" / "users.db"
    add_role_users(users_db)
    picture = SitePicture(site_path)
    applied: list[SiteConfig] = []
    journal = tmp_path / "state" / "events"
    write_journal(journal, todays_events())
    context = WebContext(
        site_path=site_path,
        users_db=users_db,
        snapshot=picture.annotated,
        raw_snapshot=picture.raw,
        status=service_status,
        apply_site=applied.append,
        live=live_readings,
        journal_dir=journal,
    )
    for running in serve(context):
        port = running.config.port
        yield Server(f"http://127.0.0.1:{port}", site_path, context, applied, running)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from start_server(tmp_path)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a module whose tests do not depend on each other's changes."""
    yield from start_server(tmp_path_factory.mktemp("web"))


# ---- a real browser: Debian's Chromium driven by Playwright (never a downloaded browser) ----------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts" / "web"  # screenshots for a person to look at


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup-test-env.sh installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def login_page(  # type: ignore[no-untyped-def]
    browser, server: Server, name: str, next_path: str = "/", locale: str | None = None, width: int = 1400
):
    """A new page logged in through the form as ``name``, on ``next_path``; ``locale`` e.g. ``zh-CN``:
    the browser's language and the Accept-Language it sends."""
    language = {} if locale is None else {
        "locale": locale, "extra_http_headers": {"Accept-Language": f"{locale},{locale.split('-')[0]};q=0.9"}
    }  # fmt: skip
    page = browser.new_page(viewport={"width": width, "height": 900}, base_url=server.url, **language)
    page.goto(f"/login?next={next_path}")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{server.url}{next_path}")
    return page
