"""``crossguard run`` serves the web UI where the site's ``web`` section says, over its TLS, and keeps
the login-free operations endpoints on loopback; an MQTT outage shows in the UI and the status line."""

from __future__ import annotations

import signal
import ssl
import subprocess
import threading

import httpx
import pytest

from edge.config import ConfigError, load_site
from tests.edge.service.sites import start_service, stop_service, write_site
from tests.edge.streams import free_port, wait_until
from tests.edge.web.conftest import PASSWORD, add_role_users
from tests.mosquitto import Mosquitto, issue_cert, make_ca

pytestmark = pytest.mark.timeout(180)


def _answers(client: httpx.Client, path: str) -> httpx.Response | None:
    try:
        return client.get(path)
    except httpx.TransportError:
        return None


class LogLines:
    """The service's stderr, read line by line as it comes, so a test can wait for a line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.lines.append(line)

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._thread.join(10)
        return self.proc.returncode, "".join(self.lines)


def test_run_serves_the_ui_over_tls_on_its_own_port_and_ops_on_loopback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ca, ca_key, ca_cert = make_ca(tmp_path / "tls", "box-ca")
    tls = issue_cert(tmp_path / "tls", "box", ca_key, ca_cert, ca.ca_file, server=True)
    ops_port, web_port = free_port(), free_port()
    add_role_users(tmp_path / "state" / "users.db")  # web.users_db defaults to state/users.db beside the site
    with Mosquitto(tmp_path / "broker") as broker:
        site = write_site(
            tmp_path,
            timeline="t,group,state\n0.0,ped-main,DONT_WALK\n",
            service={"capture": {"loop": True}, "http": {"port": ops_port}},
            web={"port": web_port, "tls_cert": str(tls.cert_file), "tls_key": str(tls.key_file)},
            mqtt={"enabled": True, "host": "127.0.0.1", "port": broker.port, "fsync": False},
            evidence={"enabled": False},
        )
        proc = start_service(site)
        log = LogLines(proc)
        try:
            trust = ssl.create_default_context(cafile=str(ca.ca_file))
            ui = httpx.Client(base_url=f"https://127.0.0.1:{web_port}", verify=trust, timeout=10)
            ops = httpx.Client(base_url=f"http://127.0.0.1:{ops_port}", timeout=10)
            with ui, ops:
                wait_until(lambda: proc.poll() is None and (r := _answers(ui, "/healthz")) and r.text == "ok", 60,
                           what="the UI over HTTPS")  # fmt: skip
                # The operations endpoints answer without login, on loopback, and serve no UI.
                assert ops.get("/status").json()["frames_processed"] >= 0
                assert ops.get("/metrics").status_code == 200
                assert ops.get("/login").status_code == 404 and ops.get("/api/status").status_code == 404
                # The UI needs a login, and its cookies are Secure under TLS.
                assert ui.get("/api/status").status_code == 401
                login = ui.post("/api/login", json={"name": "viewer", "password": PASSWORD})
                assert login.status_code == 200 and "secure" in login.headers["set-cookie"].lower()
                assert ui.get("/api/status").json()["adapters"]["mqtt"]["ok"] is True
                with httpx.Client(timeout=5) as plain:  # TLS only: plain HTTP on the UI's port gets no page
                    answer = _answers(plain, f"http://127.0.0.1:{web_port}/healthz")
                    assert answer is None or answer.status_code != 200

                broker.stop()  # the MQTT link goes down: the dashboard says so at the top
                board = wait_until(lambda: (b := ui.get("/api/dashboard").json())["alarms"] and b, 30,
                                   what="the MQTT alarm on the dashboard")  # fmt: skip
                assert board["alarms"][0].startswith("MQTT link to the traffic centre DOWN: broker not connected")
                assert "MQTT link to the traffic centre DOWN" in ui.get("/").text
                # ...and so does the status line (log and systemd STATUS=), written every status_interval_s.
                outage = "mqtt DOWN (broker not connected"
                wait_until(lambda: any("status: " in ln and outage in ln for ln in log.lines), 60,
                           what="the MQTT outage in the status line")  # fmt: skip
        finally:
            code, err = log.stop()
    assert code == 0, err[-3000:]
    assert f"web UI on https://127.0.0.1:{web_port}" in err
    assert "without TLS" not in err


def test_ops_endpoints_stay_on_loopback_unless_made_public(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"service\.http\.public"):
        load_site(write_site(tmp_path, service={"http": {"host": "0.0.0.0"}}))
    site = load_site(write_site(tmp_path, service={"http": {"host": "0.0.0.0", "public": True}}))
    assert site.service.http.public is True
    assert load_site(write_site(tmp_path, service={"http": {"host": "::1"}})).service.http.host == "::1"


def test_a_ui_that_cannot_start_does_not_stop_enforcement(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ops_port = free_port()
    site = write_site(
        tmp_path,
        service={"capture": {"loop": True}, "http": {"port": ops_port}},
        web={"port": free_port(), "tls_cert": str(tmp_path / "missing.pem"), "tls_key": str(tmp_path / "k.pem")},
        evidence={"enabled": False},
    )
    proc = start_service(site)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{ops_port}", timeout=10) as ops:
            status = wait_until(lambda: (r := _answers(ops, "/status")) and r.json()["frames_processed"] and r.json(),
                                60, what="frames with the UI down")  # fmt: skip
        web = status["adapters"]["web"]
        assert web["ok"] is False and "could not be started" in web["detail"]
    finally:
        code, _, err = stop_service(proc)
    assert code == 0, err[-3000:]
    assert "web UI: could not be started; running without it" in err


def test_run_warns_when_the_ui_is_served_to_the_network_without_tls(tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = write_site(
        tmp_path,
        service={"capture": {"loop": True}},
        web={"host": "0.0.0.0", "port": free_port()},
        evidence={"enabled": False},
    )
    log = LogLines(start_service(site))
    try:
        line = wait_until(lambda: next((ln for ln in log.lines if "without TLS" in ln), None), 60,
                          what="the plain-HTTP warning")  # fmt: skip
    finally:
        code, err = log.stop()
    assert code == 0, err[-3000:]
    assert "WARNING" in line and "0.0.0.0" in line and "web.tls_cert" in line
