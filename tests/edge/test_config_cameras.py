"""Multi-camera site files: a ``cameras:`` list, crosswalks naming their camera, per-camera views."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from edge.config import ConfigError, load_site
from edge.config.site import SiteConfig
from tests.builders import MINIMAL_SITE, site_dict


def two_camera_site(**crosswalk_cameras: str | None) -> dict[str, Any]:
    """Two cameras (north, south), crosswalks cw1 and cw2, each on the camera given (None: no camera: key)."""
    data = site_dict()
    cw1 = data["crosswalks"][0]
    cw2 = copy.deepcopy(cw1) | {"id": "cw2", "signal_group": "p2"}
    data["crosswalks"] = [cw1, cw2]
    data["cameras"] = [
        {"id": "north", "source": "rtsp://cam-n/stream", "fps": 10},
        {"id": "south", "source": "rtsp://cam-s/stream", "fps": 12},
    ]
    for cw in data["crosswalks"]:
        camera = crosswalk_cameras.get(cw["id"], "north" if cw["id"] == "cw1" else "south")
        if camera is not None:
            cw["camera"] = camera
    return data


def test_old_single_camera_form_is_one_camera() -> None:
    site = SiteConfig.model_validate(site_dict(camera={"id": "cam7", "source": "x.mp4", "fps": 11}))
    assert [c.id for c in site.camera_configs()] == ["cam7"]
    assert not site.multi_camera
    view = site.for_camera("cam7")
    assert view == site and view.camera.id == "cam7"


def test_a_crosswalk_may_name_the_only_camera() -> None:
    data = site_dict(camera={"id": "cam7"})
    data["crosswalks"][0]["camera"] = "cam7"
    assert SiteConfig.model_validate(data).for_camera("cam7").crosswalks[0].id == "cw1"


def test_several_cameras_give_views_with_their_own_crosswalks() -> None:
    site = SiteConfig.model_validate(two_camera_site())
    assert site.multi_camera
    assert [(c.id, c.fps) for c in site.camera_configs()] == [("north", 10), ("south", 12)]
    north, south = site.for_camera("north"), site.for_camera("south")
    assert (north.camera.id, [c.id for c in north.crosswalks]) == ("north", ["cw1"])
    assert (south.camera.id, [c.id for c in south.crosswalks]) == ("south", ["cw2"])
    assert north.cameras == [] and north.camera_configs() == [site.cameras[0]]
    assert north.signal == site.signal and north.site == site.site  # shared sections are the site's


@pytest.mark.parametrize("data", [site_dict(), two_camera_site()], ids=["one camera", "two cameras"])
def test_a_dumped_site_validates_again_unchanged(data: dict[str, Any]) -> None:
    """Live zone edits and the editor's history rebuild a site from its dump: both halves are in it."""
    site = SiteConfig.model_validate(data)
    assert SiteConfig.model_validate(site.model_dump()) == site
    assert SiteConfig.model_validate(site.model_dump(mode="json")) == site


def test_a_list_of_one_camera_needs_no_camera_on_its_crosswalks() -> None:
    data = site_dict()
    data["cameras"] = [{"id": "only", "source": "a.mp4"}]
    site = SiteConfig.model_validate(data)
    assert [c.id for c in site.for_camera("only").crosswalks] == ["cw1"]


def test_unknown_camera_view_names_the_cameras() -> None:
    site = SiteConfig.model_validate(two_camera_site())
    with pytest.raises(KeyError, match="cameras are north, south"):
        site.for_camera("east")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["crosswalks"][1].update(camera="east"), "crosswalk 'cw2' names unknown camera 'east'"),
        (lambda d: d["cameras"][1].update(id="north"), "cameras[].id must be unique; repeated: north"),
        (lambda d: d.update(camera={"id": "x"}), "camera and cameras are both given"),
        (lambda d: d["crosswalks"][0].pop("camera"), "crosswalk 'cw1' names no camera"),
        (lambda d: d["crosswalks"][1].update(camera="north"), "camera(s) south watch no crosswalk"),
        (lambda d: d["cameras"][0].update(fps=0), "greater than 0"),
        (lambda d: d["crosswalks"][1].update(id="cw1"), "crosswalks[].id must be unique"),
    ],
    ids=["unknown-camera", "duplicate-camera", "camera-and-cameras", "no-camera", "idle-camera", "bad-fps", "dup-cw"],
)
def test_invalid_multi_camera_sites(change: Any, fragment: str) -> None:
    data = two_camera_site()
    change(data)
    with pytest.raises(ValidationError) as info:
        SiteConfig.model_validate(data)
    assert fragment in str(info.value)


def test_single_form_crosswalk_on_another_camera_is_refused() -> None:
    data = site_dict(camera={"id": "cam1"})
    data["crosswalks"][0]["camera"] = "cam2"
    with pytest.raises(ValidationError, match="names unknown camera 'cam2'; cameras are cam1"):
        SiteConfig.model_validate(data)


def test_errors_in_a_site_file_name_the_file_and_line(tmp_path: Path) -> None:
    from ruamel.yaml import YAML

    data = two_camera_site(cw2="east")
    path = tmp_path / "site.yaml"
    with path.open("w") as f:
        YAML().dump(data, f)
    with pytest.raises(ConfigError) as info:
        load_site(path)
    assert str(path) in str(info.value) and "unknown camera 'east'" in str(info.value)
    assert MINIMAL_SITE["crosswalks"][0].get("camera") is None  # the shared builder is untouched
