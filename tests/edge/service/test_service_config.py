"""The ``service`` section: defaults keep old site files valid; each bad value names its key."""

from __future__ import annotations

from contextlib import ExitStack as DoesNotRaise

import pytest

from edge.config import ConfigError, load_site
from edge.ops.clock import ClockMap, ClockSync, parse_chrony_tracking, read_clock_sync
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
    assert sync.source in ("chronyc", "adjtimex", "unknown")
    assert (sync.synchronised is None) == (sync.source == "unknown")


SYNCED = (  # chronyc -c tracking on a synced box
    "A9FEA97B,169.254.169.123,4,1765000000.123456789,-0.000012345,0.000001234,0.000023456,"
    "-12.345,0.001,0.050,0.000200000,0.000300000,64.3,Normal"
)
UNSYNCED = (
    "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,"
    "1.000000000,1.000000000,0.0,Not synchronised"
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (SYNCED, ClockSync(True, -0.000012345, 0.0004, "chronyc")),
        (UNSYNCED, ClockSync(False, 0.0, 1.5, "chronyc")),
        ("506 Cannot talk to daemon", None),
        ("", None),
        (SYNCED.replace("-0.000012345", "n/a"), ClockSync(True, None, None, "chronyc")),
    ],
)
def test_chrony_tracking_line_is_read_as_sync_state_offset_and_error_bound(line, expected) -> None:
    got = parse_chrony_tracking(line)
    if expected is None or got is None:
        assert got == expected
    else:
        assert (got.synchronised, got.source) == (expected.synchronised, expected.source)
        for name in ("offset_s", "max_error_s"):
            assert getattr(got, name) == (
                None if getattr(expected, name) is None else pytest.approx(getattr(expected, name))
            )
