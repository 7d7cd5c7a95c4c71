"""The dashboard's figures: today's crossings and violations per local hour, and the page and API over a real server."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.events import EventType
from edge.users import Role
from edge.web.dashboard import JournalEvent, JournalReader, hour_starts, journal_days, tally_day
from tests.edge.web.conftest import Server, journal_event, service_status, write_journal

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
KOLKATA = ZoneInfo("Asia/Kolkata")
CROSSING, VIOLATION = EventType.CROSSING, EventType.VIOLATION


def utc(zone: ZoneInfo, *when: int, fold: int = 0) -> float:
    return datetime(*when, tzinfo=zone, fold=fold).timestamp()  # type: ignore[misc]


def event(n: int, kind: EventType, at: float, crosswalk: str = "cw-main") -> JournalEvent:
    return JournalEvent(f"{kind.value}-{n}", kind, crosswalk, at)


@pytest.mark.parametrize(
    ("zone", "day", "hours", "first", "last"),
    [
        (NEW_YORK, date(2026, 6, 15), 24, "00:00", "23:00"),
        (NEW_YORK, date(2026, 3, 8), 23, "00:00", "23:00"),  # spring forward: 02:00 never happens
        (NEW_YORK, date(2026, 11, 1), 25, "00:00", "23:00"),  # fall back: 01:00 twice
        (KOLKATA, date(2026, 6, 15), 24, "00:00", "23:00"),  # a half-hour offset still starts at local midnight
    ],
)
def test_a_local_day_has_its_real_number_of_hours(zone, day, hours, first, last) -> None:  # type: ignore[no-untyped-def]
    starts = hour_starts(day, zone)
    assert len(starts) == hours
    assert (starts[0][1], starts[-1][1]) == (first, last)
    assert starts[0][0] == utc(zone, day.year, day.month, day.day)


def test_spring_forward_day_skips_two_and_fall_back_day_names_both_ones() -> None:
    spring = [label for _, label in hour_starts(date(2026, 3, 8), NEW_YORK)]
    assert spring[:4] == ["00:00", "01:00", "03:00", "04:00"]
    autumn = [label for _, label in hour_starts(date(2026, 11, 1), NEW_YORK)]
    assert autumn[:4] == ["00:00", "01:00 EDT", "01:00 EST", "02:00"]


# (what happens, events, expected (hour label → crossings, violations) for cw-main, day total)
TALLIES = [
    (
        "crossings and a violation in one hour",
        [event(1, CROSSING, utc(CHICAGO, 2026, 6, 15, 9, 5)), event(2, CROSSING, utc(CHICAGO, 2026, 6, 15, 9, 59)),
         event(2, VIOLATION, utc(CHICAGO, 2026, 6, 15, 9, 59))],
        {"09:00": (2, 1)}, (2, 1),
    ),
    (
        "yesterday and tomorrow, local, are left out even when their UTC day is today's",
        [event(1, CROSSING, utc(CHICAGO, 2026, 6, 14, 23, 59)), event(2, CROSSING, utc(CHICAGO, 2026, 6, 16, 0, 0)),
         event(3, CROSSING, utc(CHICAGO, 2026, 6, 15, 0, 0))],
        {"00:00": (1, 0)}, (1, 0),
    ),
    (
        "a local evening past UTC midnight still counts today",
        [event(1, CROSSING, utc(CHICAGO, 2026, 6, 15, 21, 30))],  # 02:30 UTC on the 16th
        {"21:00": (1, 0)}, (1, 0),
    ),
    (
        "an event id journalled twice counts once",
        [event(1, CROSSING, utc(CHICAGO, 2026, 6, 15, 12, 0)), event(1, CROSSING, utc(CHICAGO, 2026, 6, 15, 12, 0))],
        {"12:00": (1, 0)}, (1, 0),
    ),
    ("no events", [], {}, (0, 0)),
]  # fmt: skip


@pytest.mark.parametrize(("what", "events", "hours", "total"), TALLIES, ids=[t[0] for t in TALLIES])
def test_tally_of_a_local_day(what, events, hours, total) -> None:  # type: ignore[no-untyped-def]
    day = tally_day(events, ["cw-main", "cw-east"], date(2026, 6, 15), CHICAGO)["cw-main"]
    counted = {h.label: (h.crossings, h.violations) for h in day.hours if h.crossings or h.violations}
    assert counted == hours
    assert (day.crossings, day.violations) == total
    assert len(day.hours) == 24


def test_tally_on_the_new_york_fall_back_day_keeps_the_two_one_oclocks_apart() -> None:
    day = date(2026, 11, 1)
    first_one = utc(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)  # 01:30 EDT
    second_one = utc(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)  # 01:30 EST, an hour later
    events = [
        event(1, CROSSING, first_one),
        event(2, CROSSING, second_one),
        event(2, VIOLATION, second_one),
        event(3, CROSSING, utc(NEW_YORK, 2026, 11, 1, 23, 59)),
        event(4, CROSSING, utc(NEW_YORK, 2026, 11, 2, 0, 0)),  # the next day
    ]
    tally = tally_day(events, ["cw-main"], day, NEW_YORK)["cw-main"]
    rows = {h.label: (h.crossings, h.violations, h.violation_rate) for h in tally.hours if h.crossings}
    assert rows == {"01:00 EDT": (1, 0, 0.0), "01:00 EST": (1, 1, 1.0), "23:00": (1, 0, 0.0)}
    assert (tally.crossings, tally.violations, tally.violation_rate) == (3, 1, pytest.approx(1 / 3))
    assert len(tally.hours) == 25


def test_tally_on_the_new_york_spring_forward_day() -> None:
    at = utc(NEW_YORK, 2026, 3, 8, 3, 10)
    events = [event(1, CROSSING, at), event(1, VIOLATION, at)]
    tally = tally_day(events, ["cw-main"], date(2026, 3, 8), NEW_YORK)["cw-main"]
    assert [(h.label, h.crossings, h.violations) for h in tally.hours if h.crossings] == [("03:00", 1, 1)]
    assert len(tally.hours) == 23


def test_hours_without_crossings_have_no_rate_and_every_crosswalk_gets_a_row() -> None:
    events = [event(1, CROSSING, utc(CHICAGO, 2026, 6, 15, 8, 0), crosswalk="cw-gone")]
    tally = tally_day(events, ["cw-main", "cw-east"], date(2026, 6, 15), CHICAGO)
    assert list(tally) == ["cw-main", "cw-east", "cw-gone"]  # a crosswalk since removed still shows its counts
    assert tally["cw-main"].violation_rate is None and all(h.violation_rate is None for h in tally["cw-main"].hours)
    assert tally["cw-gone"].crossings == 1


@pytest.mark.parametrize(
    ("zone", "day", "files"),
    [
        (CHICAGO, date(2026, 6, 15), ["2026-06-15", "2026-06-16"]),  # 05:00 UTC to 05:00 UTC (+ an hour)
        (ZoneInfo("UTC"), date(2026, 6, 15), ["2026-06-15", "2026-06-16"]),  # decisions just after midnight
        (ZoneInfo("Asia/Tokyo"), date(2026, 6, 15), ["2026-06-14", "2026-06-15"]),
    ],
)
def test_journal_files_that_can_hold_a_local_day(zone, day, files) -> None:  # type: ignore[no-untyped-def]
    assert journal_days(day, zone) == files


def test_journal_reader_parses_only_new_complete_lines(tmp_path: Path) -> None:
    first = journal_event(1, CROSSING, utc(ZoneInfo("UTC"), 2026, 6, 15, 10, 0))
    write_journal(tmp_path, [first])
    path = tmp_path / "events-2026-06-15.jsonl"
    with path.open("a", encoding="utf-8") as f:
        f.write("not json\n")
    reader = JournalReader(tmp_path)
    assert [e.event_id for e in reader.events(["2026-06-15", "2026-06-16"])] == [first.event_id]
    second = path.read_text().splitlines()[0].replace(first.event_id, "second")
    with path.open("a", encoding="utf-8") as f:
        f.write(second[:40])  # a line still being written is not taken yet
    assert [e.event_id for e in reader.events(["2026-06-15"])] == [first.event_id]
    with path.open("a", encoding="utf-8") as f:
        f.write(second[40:] + "\n")
    assert [e.event_id for e in reader.events(["2026-06-15"])] == [first.event_id, "second"]
    path.unlink()  # pruned by the journal: forgotten
    assert reader.events(["2026-06-15"]) == []


# ---- over the real server ------------------------------------------------------------------------


def test_dashboard_api_for_a_viewer(server: Server) -> None:
    with server.login(Role.VIEWER) as client:
        board = client.get("/api/dashboard").json()
    assert board["timezone"] == "America/Chicago" and board["live"] is True and board["notice"] == ""
    (card,) = board["crosswalks"]
    assert card["crosswalk_id"] == "cw-main" and card["signal_group"] == "ped-main"
    assert card["signal"]["state"] == "DONT_WALK" and card["signal"]["sources"] == [
        {"name": "timeline", "health": "ok", "detail": ""}
    ]
    today = card["today"]
    assert (today["crossings"], today["violations"]) == (6, 1)  # yesterday's crossing is left out
    assert today["violation_rate"] == pytest.approx(1 / 6)
    assert sum(h["crossings"] for h in today["hours"]) == 6
    assert all(h["violation_rate"] is None for h in today["hours"] if not h["crossings"])
    box = board["box"]
    assert box["fps"] == 11.0 and box["inference_ms"] == 41.5 and box["frames_dropped"] == 3
    assert box["mqtt"] == {"name": "mqtt", "ok": True, "detail": "connected, outbox 2"} and box["outbox_depth"] == 2
    assert [d["state"] for d in box["devices"]] == ["ok", "down"]
    assert box["storage"]["free_bytes"] == 120 * 10**9 and box["clock_synchronised"] is True


def test_dashboard_api_for_another_day_and_a_bad_day(server: Server) -> None:
    with server.login(Role.VIEWER) as client:
        old = client.get("/api/dashboard", params={"day": "2020-01-01"}).json()
        assert old["crosswalks"][0]["today"]["crossings"] == 0 and old["day"] == "2020-01-01"
        assert client.get("/api/dashboard", params={"day": "yesterday"}).status_code == 422
        for day in ("9999-12-31", "0001-01-01"):  # the next midnight of the first is not representable
            r = client.get("/api/dashboard", params={"day": day})
            assert r.status_code == 400 and "out of range" in r.json()["detail"]
        last = client.get("/api/dashboard", params={"day": "9999-12-30"}).json()
        assert last["crosswalks"][0]["today"]["crossings"] == 0


def test_mqtt_outage_is_an_alarm_at_the_top_of_the_dashboard(server: Server) -> None:
    down = service_status()
    down["adapters"]["mqtt"] = {"ok": False, "detail": "broker not connected (connection refused)"}  # type: ignore[index]
    server.context.status = lambda: down
    with server.login(Role.VIEWER) as client:
        board = client.get("/api/dashboard").json()
        page = client.get("/").text
    (alarm,) = board["alarms"]
    assert alarm == "MQTT link to the traffic centre DOWN: broker not connected (connection refused)" + (
        "; 2 report(s) wait in the outbox"
    )
    assert 'class="alarm"' in page and "MQTT link to the traffic centre DOWN" in page
    server.context.status = service_status
    with server.login(Role.VIEWER) as client:
        assert client.get("/api/dashboard").json()["alarms"] == []


def test_dashboard_without_a_live_service_or_journal_says_so(server: Server) -> None:
    server.context.live = None
    server.context.journal_dir = None
    server.context.status = lambda: {"mode": "review only (no camera pipeline)"}
    with server.login(Role.VIEWER) as client:
        board = client.get("/api/dashboard").json()
        page = client.get("/").text
    assert board["live"] is False and board["box"] is None
    assert board["crosswalks"][0]["signal"] is None and board["crosswalks"][0]["today"]["crossings"] == 0
    assert "No live service is attached" in board["notice"] and "No event journal" in board["notice"]
    assert "No live service is attached" in page and "no live service attached" in page


def test_dashboard_survives_live_readings_that_fail(server: Server) -> None:
    def broken() -> None:
        raise IndexError("history rewritten meanwhile")

    server.context.live = broken  # type: ignore[assignment]
    with server.login(Role.VIEWER) as client:
        r = client.get("/api/dashboard")
    assert r.status_code == 200 and "could not be taken this time" in r.json()["notice"]
    assert r.json()["crosswalks"][0]["today"]["crossings"] == 6  # the counts do not depend on them
