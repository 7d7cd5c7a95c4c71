"""``crossguard run`` as a careless operator starts it: from a shell (umask 022), or with a typo in a signal group."""

from __future__ import annotations

import os
import stat

import pytest

from tests.edge.service.sites import start_service, stop_service, write_site
from tests.edge.streams import free_port, wait_until

pytestmark = pytest.mark.timeout(120)


def test_state_files_are_not_readable_by_others_under_a_shell_umask(tmp_path) -> None:
    site_path = write_site(
        tmp_path,
        timeline="t,group,state\n0.0,ped-main,DONT_WALK\n",
        service={"capture": {"realtime": False, "loop": True}},
        mqtt={"enabled": True, "port": free_port(), "password": "hunter2", "username": "box",
              "outbox_file": str(tmp_path / "state" / "outbox.sqlite")},
    )  # fmt: skip
    state, evidence = tmp_path / "state", tmp_path / "evidence"
    old = os.umask(0o022)  # the child inherits it, as from a login shell
    try:
        proc = start_service(site_path)
    finally:
        os.umask(old)
    try:
        wait_until(
            lambda: any(evidence.glob("2*/*/*/*/manifest.json")) and (state / "status.json").exists(),
            90,
            what="the first violation's evidence",
        )
    finally:
        code, _, err = stop_service(proc)
    assert code == 0, err[-2000:]
    files = {p: stat.S_IMODE(p.stat().st_mode) for root in (state, evidence) for p in root.rglob("*") if p.is_file()}
    names = {p.name for p in files}
    assert {"users.db", "outbox.sqlite", "status.json"} <= names and any(n.startswith("events-") for n in names)
    public = {p for p in files if p.name.endswith(".pub.pem")}  # the verification key is meant to be shared
    exposed = {str(p.relative_to(tmp_path)): oct(m) for p, m in files.items() if m & 0o037 and p not in public}
    assert exposed == {}
    assert stat.S_IMODE((state / "users.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "outbox.sqlite").stat().st_mode) == 0o600
    assert [m for p, m in files.items() if p.name == "device_ed25519.pem"] == [0o600]
    assert "hunter2" not in err + (state / "status.json").read_text()  # the broker password is never shown


def test_a_signal_group_no_source_reports_is_logged_at_start(tmp_path) -> None:
    site_path = write_site(tmp_path, service={"capture": {"realtime": False}})
    site_path.write_text(site_path.read_text().replace("signal_group: ped-main", "signal_group: ped-mian"))
    proc = start_service(site_path, "--max-frames", "5")
    _, err = proc.communicate(timeout=100)
    assert proc.returncode == 0, err[-2000:]
    assert "crosswalks[0].signal_group: no signal source reports group 'ped-mian' (they report: ped-main)" in err
