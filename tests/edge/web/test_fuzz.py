"""Fuzz every JSON API operation from the served OpenAPI schema (schemathesis): no server errors.

Bounded: a few dozen generated requests per operation, against a real server on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from edge.users import Role
from edge.web.auth import CSRF_HEADER
from tests.edge.web.conftest import Server

schemathesis = pytest.importorskip("schemathesis")

MAX_EXAMPLES = 20
SKIP = {"/api/logout"}  # would end the fuzzing session itself
# Deliberate, documented answers of a box without those parts: not crashes.
NOT_ON_THIS_BOX = ("not available on this box", "no actuators are configured")


def _session(server: Server) -> tuple[requests.Session, dict[str, str]]:
    with server.login(Role.ADMIN) as client:
        cookies = dict(client.cookies)
        token = client.headers[CSRF_HEADER]
        schema = client.get("/openapi.json").json()
    session = requests.Session()
    session.cookies.update(cookies)
    return session, {"schema": schema, "token": token}  # type: ignore[dict-item]


def fuzz(server: Server, paths: str = "/") -> dict[int, int]:
    """Generated requests against every operation under ``paths``; returns the status counts."""
    session, found = _session(server)
    schema = schemathesis.openapi.from_dict(found["schema"])
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(paths) and op.path not in SKIP]
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for operation in operations:

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: object) -> None:
            response = case.call(  # type: ignore[attr-defined]
                base_url=server.url, session=session, headers={CSRF_HEADER: found["token"]}, timeout=30
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500 and not any(text in response.text for text in NOT_ON_THIS_BOX):
                failures.append(f"{case.method} {case.path}: {response.status_code} {response.text}")

        run()
    print(f"{sum(statuses.values())} requests over {len(operations)} operations; statuses {sorted(statuses.items())}")
    assert failures == []
    assert sum(statuses.values()) > 3 * len(operations)
    # The server is still up and the session still works after all that.
    assert session.get(f"{server.url}/api/me").status_code == 200
    return statuses


def test_api_survives_generated_requests(server: Server) -> None:
    fuzz(server)


def test_evidence_api_survives_generated_requests(server: Server, tmp_path: Path) -> None:
    pytest.importorskip("evidence.review", reason="the evidence package is not installed")
    recording = pytest.importorskip("tests.evidence.conftest", reason="the evidence package's test recorder is missing")
    root = tmp_path / "evidence"
    recording.record_events(root, entry_frames=(60,))
    server.context.evidence_root = root
    statuses = fuzz(server, "/api/evidence")
    assert 503 not in statuses
