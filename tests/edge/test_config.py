"""Site files: every error names its key and YAML line; the shipped sites are valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.config import ConfigError, load_site
from edge.config.site import SiteConfig
from tests.builders import make_site, site_dict
from tests.conftest import REPO

BAD_SITE = """\
site:
  id: s1
  name: Test
  device_id: box
  timezone: Mars/Olympus
camera:
  fps: -3
detecter:
  backend: onnx
crosswalks:
  - id: cw1
    signal_group: p1
    polygon: [[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]
    curbs:
      - name: a
        polygon: [[0, 0], [0.1, 0], [0.1, 0.1]]
      - name: a
        polygon: [[0.9, 0.9], [1, 0.9], [1, 1]]
    rules:
      grace_s: 1
      inertia: 3
"""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", *args], capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("site_file", sorted(str(p) for p in (REPO / "sites").rglob("site*.yaml")))
def test_shipped_site_files_are_valid(site_file: str) -> None:
    result = run_cli("config", "check", site_file)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_every_error_has_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_SITE)
    result = run_cli("config", "check", str(path))
    assert result.returncode == 1
    err = result.stderr
    assert f"{path}:5: site.timezone: 'Mars/Olympus' is not a known IANA time zone" in err
    assert f"{path}:7: camera.fps: Input should be greater than 0 (value: -3)" in err
    assert f"{path}:8: detecter: unknown key; did you mean 'detector'?" in err
    assert f"{path}:13: crosswalks[0].polygon: crosswalk polygon point (1.5, 0.1) lies outside the picture" in err
    assert f"{path}:21: crosswalks[0].rules.inertia: unknown key; did you mean 'inertia_frames'?" in err
    assert "problem(s)" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("site: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("", "must be a mapping"),
    ],
)
def test_malformed_yaml(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_site(path)


def test_missing_file(tmp_path: Path) -> None:
    result = run_cli("config", "check", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1 and "file not found" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"crosswalks__0__polygon": [[0, 0], [1, 1]]}, "at least 3 points"),
        ({"crosswalks__0__polygon": [[0, 0], [0.5, 0.5], [1, 1]]}, "no area"),
        ({"crosswalks__0__rules__grace_s": -1}, "greater than or equal to 0"),
        ({"crosswalks__0__id": "bad id!"}, "String should match pattern"),
        ({"site__id": ""}, "at least 1 character"),
        ({"crosswalks": []}, "at least 1 item"),
        ({"detector__riders__vehicle_classes": [0, 1]}, "class 0 is person, not a vehicle"),
        ({"detector__riders__vehicle_classes": []}, "at least 1 item"),
        ({"detector__riders__min_overlap": 0}, "greater than 0"),
        ({"detector__riders__confirm_s": 0}, "greater than 0"),
        ({"detector__riders__enable": False}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_values(overrides: dict, fragment: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError, match=fragment):
        SiteConfig.model_validate(site_dict(**overrides))


def test_the_detector_keeps_the_vehicles_riders_are_told_by() -> None:
    assert make_site().detector.detected_classes() == [0, 1, 3]
    assert make_site(detector__riders__enabled=False).detector.detected_classes() == [0]
    assert make_site(detector__riders__vehicle_classes=[3, 1, 1]).detector.riders.vehicle_classes == [1, 3]


def test_duplicate_curb_names() -> None:
    data = site_dict()
    data["crosswalks"][0]["curbs"][1]["name"] = "north"
    with pytest.raises(ValidationError, match=r"curbs\[0\].name and curbs\[1\].name are both 'north'"):
        SiteConfig.model_validate(data)


def test_duplicate_crosswalk_ids() -> None:
    data = site_dict()
    data["crosswalks"].append(data["crosswalks"][0])
    with pytest.raises(ValidationError, match="repeated: cw1"):
        SiteConfig.model_validate(data)


def test_model_and_timeline_paths_are_relative_to_the_site_file() -> None:
    site = load_site(REPO / "sites" / "demo" / "site.yaml")
    assert site.detector.model.is_absolute() and site.detector.model.name == "yolov8n_int8_640.onnx"
    assert site.signal.sources[0].path == (REPO / "sites" / "demo" / "timeline.csv").resolve()


def billion_laughs(levels: int = 9) -> str:
    """Nine levels of nine aliases: a few hundred bytes that expand to 9**9 strings."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(billion_laughs())
    result = run_cli("config", "check", str(path))
    assert result.returncode == 1
    assert f"{path}:5: <root>: not valid YAML: aliases expand to more than 10000 extra nodes" in result.stderr


def test_alias_bomb_is_refused_by_the_zone_editor_reader() -> None:
    from ruamel.yaml.error import YAMLError

    from edge.web.site_file import site_data

    with pytest.raises(YAMLError, match="aliases expand to more than"):
        site_data(billion_laughs())


def test_alias_to_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("site: &s {id: s1, again: *s}\n")
    with pytest.raises(ConfigError, match=r"site.yaml:1: .*an alias refers to the node that contains it"):
        load_site(path)


ANCHORED_SITE = """\
site: {id: s1, name: Test, device_id: box, timezone: UTC}
crosswalks:
  - id: cw1
    signal_group: p1
    polygon: [[0.2, 0.4], [0.8, 0.4], [0.8, 0.6], [0.2, 0.6]]
    curbs: &curbs
      - {name: north, polygon: [[0.2, 0.2], [0.8, 0.2], [0.8, 0.4], [0.2, 0.4]]}
      - {name: south, polygon: [[0.2, 0.6], [0.8, 0.6], [0.8, 0.8], [0.2, 0.8]]}
    rules: &rules {grace_s: 1.0, inertia_frames: 3}
  - id: cw2
    signal_group: p1
    polygon: [[0.2, 0.4], [0.8, 0.4], [0.8, 0.6], [0.2, 0.6]]
    curbs: *curbs
    rules:
      <<: *rules
      grace_s: 2.5
"""


def test_ordinary_anchors_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(ANCHORED_SITE)
    site = load_site(path)
    assert site.crosswalks[1].curbs == site.crosswalks[0].curbs
    assert site.crosswalks[0].rules.inertia_frames == site.crosswalks[1].rules.inertia_frames == 3
    assert (site.crosswalks[0].rules.grace_s, site.crosswalks[1].rules.grace_s) == (1.0, 2.5)


VISION = {"type": "vision", "heads": [{"group": "p1", "region": [0.1, 0.1, 0.2, 0.3]}]}
PLAN = {"type": "fixed_time", "plans": {"day": {"cycle_s": 60, "groups": {"p2": {"walk_s": 10, "clearance_s": 5}}}}}
MAPPED_FEED = {"type": "mqtt", "topic": "ctl/state", "groups": {"7": "p1"}}
OPEN_FEED = {"type": "mqtt", "topic": "ctl/state"}


@pytest.mark.parametrize(
    ("sources", "flagged"),
    [
        ([VISION], []),
        ([PLAN], ["no signal source reports group 'p1' (they report: p2)"]),
        ([PLAN, MAPPED_FEED], []),
        ([{**MAPPED_FEED, "groups": {"7": "p9"}}], ["no signal source reports group 'p1' (they report: p9)"]),
        ([PLAN, OPEN_FEED], []),  # a feed without a group map may report any group
        ([{"type": "timeline", "path": "missing.csv"}], []),  # unreadable here: any group
    ],
)
def test_signal_groups_no_source_reports(sources: list[dict], flagged: list[str]) -> None:  # type: ignore[type-arg]
    from edge.signal.coverage import group_problems

    site = SiteConfig.model_validate(site_dict(signal__sources=sources))
    problems = group_problems(site)
    assert [p.message.split(";")[0] for p in problems] == flagged
    assert all(p.key == "crosswalks[0].signal_group" and p.blocking for p in problems)


def test_config_check_names_a_signal_group_typo(tmp_path: Path) -> None:
    (tmp_path / "timeline.csv").write_text((REPO / "sites" / "demo" / "timeline.csv").read_text())
    text = (REPO / "sites" / "demo" / "site.yaml").read_text()
    path = tmp_path / "site.yaml"
    path.write_text(text.replace("signal_group: ped-main", "signal_group: ped-mian"))
    line = next(i for i, s in enumerate(path.read_text().splitlines(), 1) if "ped-mian" in s)
    result = run_cli("config", "check", str(path))
    assert result.returncode == 1
    assert (
        f"{path}:{line}: crosswalks[0].signal_group: no signal source reports group 'ped-mian' (they report: ped-main)"
        in result.stderr
    )


def test_config_check_warns_when_no_source_is_configured(tmp_path: Path) -> None:
    from ruamel.yaml import YAML

    path = tmp_path / "site.yaml"
    YAML().dump(site_dict(), path)
    result = run_cli("config", "check", str(path))
    assert result.returncode == 0 and "OK" in result.stdout
    assert "warning: " in result.stderr and "no signal source is configured, so group 'p1'" in result.stderr
