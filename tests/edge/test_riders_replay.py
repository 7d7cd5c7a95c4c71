"""A real cyclist through a crosswalk on DON'T WALK is no pedestrian; the pedestrians still are.

On the demo clip a cyclist rides out of the green bike lane across the road just beyond the
striped crosswalk (frames 113-135, 10.2-12.2 s, DON'T WALK since 5 s). The site here adds a
second crosswalk drawn along that path, with its waiting areas at both ends, so the cyclist
rides through it from one end to the other: without rider recognition that is an observed
entry on DON'T WALK, a pedestrian violation. The two real violations on the striped crosswalk
(9.52 s and 10.61 s) must stay.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.builders import demo_site_file
from tests.conftest import require_shared
from tests.edge.test_replay import CLIP, EXPECTED_VIOLATIONS, read_events, replay

# Along the cyclist's path (foot points about (240, 222) → (385, 193) px on the 640x352 picture).
BIKE_PATH_CROSSWALK = {
    "id": "cw-bike-path",
    "signal_group": "ped-main",
    "polygon": [[0.407, 0.548], [0.657, 0.459], [0.657, 0.588], [0.407, 0.676]],
    "curbs": [
        {"name": "west", "polygon": [[0.313, 0.581], [0.407, 0.548], [0.407, 0.676], [0.313, 0.709]]},
        {"name": "east", "polygon": [[0.657, 0.459], [0.72, 0.437], [0.72, 0.565], [0.657, 0.588]]},
    ],
    "rules": {"grace_s": 1.0, "inertia_frames": 3, "min_penetration": 0.15},
}
CYCLIST_PASS = (10.0, 12.5)  # seconds: when the cyclist is on that crosswalk


def site_with_bike_path(directory: Path, riders_enabled: bool) -> Path:
    yaml = YAML()
    site = yaml.load(demo_site_file(directory).read_text())
    site["crosswalks"].append(BIKE_PATH_CROSSWALK)
    if not riders_enabled:
        site["detector"]["riders"] = {"enabled": False}
    text = io.StringIO()
    yaml.dump(site, text)
    path = directory / f"site-riders-{'on' if riders_enabled else 'off'}.yaml"
    path.write_text(text.getvalue())
    return path


def run(tmp_path: Path, riders_enabled: bool) -> list[dict]:  # type: ignore[type-arg]
    out = tmp_path / f"out-{riders_enabled}"
    site = site_with_bike_path(tmp_path, riders_enabled)
    result = replay(require_shared(CLIP), out, "--no-evidence", site=site)
    assert result.returncode == 0, result.stderr
    return read_events(out)


def on_bike_path(events: list[dict], during_pass: bool) -> list[tuple[str, int, float]]:  # type: ignore[type-arg]
    """Records on the bike-path crosswalk, during the cyclist's pass or before it (people walking)."""
    return [
        (e["type"], e["track_id"], round(e["entry_t"], 2))
        for e in events
        if e["crosswalk_id"] == "cw-bike-path" and (CYCLIST_PASS[0] <= e["entry_t"] <= CYCLIST_PASS[1]) == during_pass
    ]


def pedestrian_violations(events: list[dict]) -> list[tuple[float, str]]:  # type: ignore[type-arg]
    return [
        (round(e["entry_t"], 2), e["direction"])
        for e in events
        if e["type"] == "violation" and e["crosswalk_id"] == "cw-main"
    ]


@pytest.mark.timeout(900)
def test_a_cyclist_riding_through_on_dont_walk_is_no_pedestrian_violation(tmp_path: Path) -> None:
    # The attack: the same replay without rider recognition takes the cyclist for a pedestrian.
    unaware = run(tmp_path, riders_enabled=False)
    assert [kind for kind, _, _ in on_bike_path(unaware, during_pass=True)] == ["crossing", "violation"]

    events = run(tmp_path, riders_enabled=True)
    assert on_bike_path(events, during_pass=True) == []  # neither a crossing nor a violation
    # People walking over the same crosswalk (on WALK, at the start) are still recorded there,
    walkers = on_bike_path(events, during_pass=False)
    assert walkers and walkers == on_bike_path(unaware, during_pass=False)
    # and the two pedestrians stepping onto the stripes on DON'T WALK are still violations.
    assert pedestrian_violations(events) == pedestrian_violations(unaware) == EXPECTED_VIOLATIONS
