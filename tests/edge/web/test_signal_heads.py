"""Signal-head boxes (``signal.sources[].heads[].region``) found, validated and rewritten by the zone editor."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge.config.site import SiteConfig
from edge.users import Role
from edge.web.signal_heads import BoxError, apply_boxes, head_boxes
from edge.web.site_file import edit_crosswalks, site_data
from tests.edge.web.conftest import DEMO_SITE, Server

VISION = """
signal:
  sources:
    # the pedestrian head on the far pole
    - type: vision
      heads:
        - group: ped-main
          region: [0.30, 0.30, 0.34, 0.40]
"""
KEY = "signal.sources[0].heads[0].region"


def _site_text(text: str | None = None) -> str:
    """A site file whose signal comes from a camera-read head instead of a timeline."""
    text = text or DEMO_SITE.read_text()
    return text[: text.index("signal:\n")] + VISION.lstrip("\n")


def _vision_supported() -> bool:
    try:
        SiteConfig.model_validate(site_data(_site_text()))
    except ValidationError:
        return False
    return True


def test_boxes_are_found_by_key() -> None:
    boxes = head_boxes(site_data(_site_text()))
    assert [(b.key, b.group, b.box) for b in boxes] == [(KEY, "ped-main", [0.30, 0.30, 0.34, 0.40])]


def test_only_the_files_own_boxes_may_be_written() -> None:
    with pytest.raises(BoxError, match="not a signal-head box"):
        apply_boxes(site_data(_site_text()), {"signal.sources[0].heads[5].region": [0, 0, 1, 1]})
    with pytest.raises(BoxError, match="four numbers"):
        apply_boxes(site_data(_site_text()), {KEY: [0.1, 0.2]})


def test_writing_a_box_keeps_comments_and_other_lines() -> None:
    text = _site_text()
    site = SiteConfig.model_validate(site_data(DEMO_SITE.read_text()))
    edited = edit_crosswalks(text, site.crosswalks, {KEY: [0.31, 0.29, 0.35, 0.41]})
    changed = [(a, b) for a, b in zip(text.splitlines(), edited.splitlines(), strict=True) if a != b]
    assert changed == [("          region: [0.30, 0.30, 0.34, 0.40]", "          region: [0.31, 0.29, 0.35, 0.41]")]
    assert "# the pedestrian head on the far pole" in edited


@pytest.mark.skipif(not _vision_supported(), reason="camera-read signal sources are not in this config tree yet")
def test_head_box_edit_through_the_api(server: Server) -> None:
    server.site_path.write_text(_site_text(server.site_path.read_text()))
    with server.login(Role.OPERATOR) as client:
        zones = client.get("/api/zones").json()
        assert [h["key"] for h in zones["signal_heads"]] == [KEY]
        bad = client.post(
            "/api/zones/validate", json={"crosswalks": zones["crosswalks"], "signal_heads": {KEY: [0.5, 0.5, 0.4, 0.6]}}
        )
        assert bad.json()["ok"] is False and bad.json()["issues"][0]["key"].startswith("signal.sources[0].heads[0]")
        body = {
            "crosswalks": zones["crosswalks"],
            "signal_heads": {KEY: [0.31, 0.29, 0.35, 0.41]},
            "base_sha256": zones["sha256"],
        }
        assert client.put("/api/zones", json=body).status_code == 200
    assert site_data(server.site_path.read_text())["signal"]["sources"][0]["heads"][0]["region"] == [
        0.31,
        0.29,
        0.35,
        0.41,
    ]


@pytest.mark.skipif(not _vision_supported(), reason="camera-read signal sources are not in this config tree yet")
def test_revert_brings_back_the_head_boxes_too(server: Server) -> None:
    server.site_path.write_text(_site_text(server.site_path.read_text()))
    with server.login(Role.OPERATOR) as client:
        zones = client.get("/api/zones").json()
        body = {"crosswalks": zones["crosswalks"], "signal_heads": {KEY: [0.31, 0.29, 0.35, 0.41]}}
        assert client.put("/api/zones", json=body | {"base_sha256": zones["sha256"]}).status_code == 200
        assert client.post("/api/zones/revert", json={"version": 1}).status_code == 200
    assert site_data(server.site_path.read_text())["signal"]["sources"][0]["heads"][0]["region"] == [
        0.30, 0.30, 0.34, 0.40
    ]  # fmt: skip
