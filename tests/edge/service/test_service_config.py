"""The ``service`` section: defaults keep old site files valid; each bad value names its key."""

from __future__ import annotations

from contextlib import ExitStack as DoesNotRaise

import pytest

from edge.config import ConfigError, load_site
from edge.ops.clock import ClockMap, read_clock_sync
from tests.edge.service.sites import DEMO, write_site


def test_the_demo_site_without_a_service_section_gets_the_defaults() -> None:
    site = load_site(DEMO / "site.yaml")
    assert site.service.capture.reconnect_max_s == 2.0
    assert site.service.performance.detect_stride == 1
    assert site.service.http.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("service", "key", "expectation"),
    [
        ({"capture": {"loop": True}}, "", DoesNotRaise()),
        ({"capture": {"reconnect_min_s": 5, "reconnect_max_s": 1}}, "service.capture", pytest.raises(ConfigError)),
        ({"performance": {"detect_stride": 0}}, "service.performance.detect_stride", pytest.raises(ConfigError)),
        ({"log_format": "xml"}, "service.log_format", pytest.raises(ConfigError)),
        ({"http": {"prot": 80}}, "service.http.prot", pytest.raises(ConfigError)),
    ],
)
def test_service_section_values(tmp_path, service, key, expectation) -> None:
    path = write_site(tmp_path, service=service)
    with expectation as raised:
        load_site(path)
    if key:
        assert key in str(raised.value)
        assert str(path) in str(raised.value)


def test_unknown_key_suggests_the_near_miss(tmp_path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'port'"):
        load_site(write_site(tmp_path, service={"http": {"prot": 80}}))


def test_clock_map_keeps_pipeline_time_from_the_monotonic_clock() -> None:
    clock = ClockMap()
    mono = clock.start_mono + 12.5
    assert clock.t(mono) == pytest.approx(12.5)
    assert clock.utc(mono) - clock.utc(clock.start_mono) == pytest.approx(12.5)
    assert abs(clock.resync()) < 0.5 and clock.steps == 0


def test_clock_sync_is_reported_as_unknown_when_the_system_cannot_say() -> None:
    sync = read_clock_sync()
    assert sync.source in ("chronyc", "timedatectl", "unknown")
    assert (sync.synchronised is None) == (sync.source == "unknown")
