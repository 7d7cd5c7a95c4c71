"""The devices page's announcement form: operators only, the desk's checks and audit, the answer in the page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from actuators.hub import ActuatorHub
from edge.announce import AnnouncementDesk
from edge.config.actuators import ActuatorsConfig
from edge.users import Role
from edge.web.context import WebContext
from tests.edge.web.conftest import Server, add_role_users, make_site, serve


@pytest.fixture
def announce_server(tmp_path: Path) -> Iterator[Server]:
    site_path = make_site(tmp_path)
    users_db = tmp_path / "state" / "users.db"
    add_role_users(users_db)
    hub = ActuatorHub(ActuatorsConfig.model_validate({"devices": []}))  # a box without a speaker
    desk = AnnouncementDesk(hub, tmp_path / "state" / "announcements.jsonl")
    context = WebContext(site_path=site_path, users_db=users_db, devices=hub, announcements=desk)
    try:
        for running in serve(context):
            yield Server(f"http://127.0.0.1:{running.config.port}", site_path, context)
    finally:
        hub.close()


def test_announcement_from_the_web_is_checked_audited_and_answered(announce_server: Server) -> None:
    with announce_server.login(Role.VIEWER) as viewer:
        assert viewer.post("/api/announce", json={"text": "hello"}).status_code == 403
    with announce_server.login(Role.OPERATOR) as operator:
        page = operator.get("/devices").text
        assert 'id="announce"' in page and "/static/announce.js" in page
        refused = operator.post("/api/announce", json={"text": "Crossing closed", "language": "en", "urgent": True})
        assert refused.status_code == 409 and refused.json()["detail"] == "no enabled speaker on this box"
        bad = operator.post("/api/announce", json={"text": "x", "language": "not a tag"})
        assert bad.status_code == 409 and "language" in bad.json()["detail"]
    audit_path = announce_server.context.announcements.audit_path  # type: ignore[union-attr]
    audit = [json.loads(line) for line in audit_path.read_text().splitlines()]
    assert [(a["channel"], a["by"], a["ok"]) for a in audit] == [("web", "operator via web", False)] * 2
