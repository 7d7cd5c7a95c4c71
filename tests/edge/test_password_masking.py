"""Passwords never reach the box's outputs: logs (text and JSON, tracebacks too) and config errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from edge.config import ConfigError, load_site
from edge.ops.logs import configure_logging


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_hide_url_passwords(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    configure_logging(fmt)
    try:
        log = logging.getLogger("test.masking")
        log.error("cannot reach %s", "mqtt://box:hunter2@broker:1883")
        try:
            raise OSError("rtsp://admin:Sup3r@10.0.0.5/s1: connection refused")
        except OSError:
            log.exception("camera failed")
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "hunter2" not in err and "Sup3r" not in err
    assert "mqtt://box:***@broker:1883" in err and "rtsp://admin:***@10.0.0.5/s1" in err
    if fmt == "json":
        assert all(json.loads(line) for line in err.splitlines())


def test_config_errors_do_not_echo_secrets(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "site: {id: s1, name: T, device_id: b}\n"
        "camera: {source: 1.5, id: 'rtsp://admin:Sup3r@10.0.0.5/s1', fps: 0}\n"
        "mqtt: {password: 12345678}\n"
        "crosswalks: []\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_site(path)
    text = str(raised.value)
    assert "mqtt.password" in text and "12345678" not in text and "Sup3r" not in text
