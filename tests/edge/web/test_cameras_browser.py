"""The camera switch of a two-camera site in Chromium: the live view and the zone editor show the picked
camera's picture and crosswalks, and the pick holds on the other pages until another is picked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
import yaml

from edge.web import WebContext
from edge.web.standalone import first_frame
from tests.builders import site_dict
from tests.conftest import require_shared
from tests.edge.test_config_cameras import two_camera_site
from tests.edge.web.conftest import ARTIFACTS, Server, add_role_users, login_page, serve

# Two real videos of different heights, so each picture says which camera it is.
VIDEOS = {"north": ("video/crosswalk_elevated_fixed.mp4", 352), "south": ("video/TUD-Campus.mp4", 480)}


@pytest.fixture
def two_camera_server(tmp_path: Path) -> Iterator[Server]:
    data = two_camera_site()
    data["site"] = site_dict()["site"]
    for camera in data["cameras"]:
        camera["source"] = str(require_shared(VIDEOS[camera["id"]][0]))
    site_path = tmp_path / "site.yaml"
    site_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    pictures = {}
    for camera, (video, _) in VIDEOS.items():
        image = first_frame(require_shared(video))
        assert image is not None
        pictures[camera] = cv2.imencode(".jpg", image)[1].tobytes()

    def picture(camera: str | None = None) -> bytes:
        return pictures[camera or "north"]  # the first camera when none is named, as the service answers

    add_role_users(tmp_path / "users.db")
    context = WebContext(
        site_path=site_path, users_db=tmp_path / "users.db", snapshot=picture, raw_snapshot=picture,
        cameras=list(VIDEOS),
    )  # fmt: skip
    for running in serve(context):
        yield Server(f"http://127.0.0.1:{running.config.port}", site_path, context)


def _zone_editor_shows(page, camera: str) -> None:  # type: ignore[no-untyped-def]
    """The editor's picture is ``camera``'s and its crosswalk list holds only that camera's crosswalk."""
    height = VIDEOS[camera][1]
    page.wait_for_function(f"() => document.getElementById('zone-canvas').height === {height}")
    crosswalk = {"north": "cw1", "south": "cw2"}[camera]
    page.wait_for_function(
        "(id) => [...document.querySelectorAll('#crosswalk-select option')].map(o => o.textContent).join() === id",
        arg=crosswalk,
    )
    assert page.input_value("#camera-select") == camera


def _live_view_shows(page, camera: str) -> None:  # type: ignore[no-untyped-def]
    height = VIDEOS[camera][1]
    page.wait_for_function(
        "(h) => { const i = document.getElementById('live-picture'); return i.complete && i.naturalHeight === h; }",
        arg=height,
    )
    assert page.input_value("#camera-select") == camera


def test_switching_the_camera_shows_its_picture_and_zones_on_every_page(browser, two_camera_server: Server) -> None:  # type: ignore[no-untyped-def]
    page = login_page(browser, two_camera_server, "operator", "/live")
    _live_view_shows(page, "north")  # the first camera until another is picked

    page.select_option("#camera-select", "south")
    page.wait_for_url(f"{two_camera_server.url}/live?camera=south")
    _live_view_shows(page, "south")
    page.screenshot(path=ARTIFACTS / "cameras-live-south.png")

    page.click("#nav-zone_editor")  # the pick holds on the next page, without ?camera= in its address
    page.wait_for_url(f"{two_camera_server.url}/zones")
    _zone_editor_shows(page, "south")
    page.screenshot(path=ARTIFACTS / "cameras-zones-south.png")

    page.select_option("#camera-select", "north")
    page.wait_for_url(f"{two_camera_server.url}/zones?camera=north")
    _zone_editor_shows(page, "north")
    page.screenshot(path=ARTIFACTS / "cameras-zones-north.png")

    page.click("#nav-live")
    page.wait_for_url(f"{two_camera_server.url}/live")
    _live_view_shows(page, "north")
    page.close()
