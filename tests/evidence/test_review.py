"""The review desk: the queue, decisions with reasons, and an audit log nobody can rewrite."""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from contextlib import nullcontext as does_not_raise
from pathlib import Path

import pytest

from evidence.review import ReviewDesk, ReviewError
from evidence.storage import INDEX_FILE
from evidence.types import ReviewState


@pytest.fixture
def desk(recorded_copy: Path) -> ReviewDesk:
    d = ReviewDesk(recorded_copy)
    yield d
    d.close()


def test_queue_lists_new_events_oldest_first(desk: ReviewDesk) -> None:
    items = desk.queue()
    assert [i.sequence for i in items] == [1, 2, 3]
    assert all(i.state is ReviewState.NEW and i.crosswalk_id == "xw1" for i in items)
    assert "sheet.jpg" in items[0].files and "manifest.json" in items[0].files
    assert json.loads(json.dumps(items[0].to_dict()))["state"] == "new"


@pytest.mark.parametrize(
    ("state", "reviewer", "reason", "expectation"),
    [
        (ReviewState.CONFIRMED, "officer 7", "", does_not_raise()),
        (ReviewState.REJECTED, "officer 7", "a cyclist", does_not_raise()),
        (ReviewState.REJECTED, "officer 7", "  ", pytest.raises(ReviewError, match="needs a reason")),
        (ReviewState.CONFIRMED, " ", "", pytest.raises(ReviewError, match="reviewer name")),
        (ReviewState.NEW, "officer 7", "undo", pytest.raises(ReviewError, match="cannot be sent back")),
    ],
)
def test_set_state_rules(
    desk: ReviewDesk, state: ReviewState, reviewer: str, reason: str, expectation: AbstractContextManager
) -> None:
    event_id = desk.queue()[0].event_id
    with expectation:
        desk.set_state(event_id, state, reviewer, reason)
        assert desk.queue(state)[0].event_id == event_id
        entry = desk.audit(event_id)[-1]
        assert (entry["action"], entry["actor"], entry["detail"]) == (
            f"review:{state.value}",
            reviewer,
            reason,
        )


def test_unknown_event_is_refused(desk: ReviewDesk) -> None:
    with pytest.raises(ReviewError, match="not in the evidence index"):
        desk.set_state("no-such-event", ReviewState.CONFIRMED, "officer 7")


def test_viewing_a_file_is_audited_and_paths_stay_inside_the_event(desk: ReviewDesk) -> None:
    event_id = desk.queue()[0].event_id
    path = desk.open_file(event_id, "sheet.jpg", "officer 7")
    assert path.is_file() and path.name == "sheet.jpg"
    assert desk.audit(event_id)[-1]["action"] == "viewed"
    assert desk.manifest(event_id, "officer 7")["event"]["event_id"] == event_id
    with pytest.raises(ReviewError, match="not a file of event"):
        desk.open_file(event_id, "../../../../../index.sqlite", "officer 7")


def test_audit_log_is_append_only(desk: ReviewDesk, recorded_copy: Path) -> None:
    event_id = desk.queue()[0].event_id
    desk.set_state(event_id, ReviewState.CONFIRMED, "officer 7")
    with sqlite3.connect(recorded_copy / INDEX_FILE) as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit SET actor='someone else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit")
        with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
            db.execute("DELETE FROM events")
        with pytest.raises(sqlite3.DatabaseError, match="cannot change"):
            db.execute("UPDATE events SET manifest_sha256='0'")
