"""Evidence from the box to the centre over HTTP: store and forward through an outage, resume, tampering named."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from edge.config.evidence import EvidenceConfig
from evidence.index import EvidenceIndex
from evidence.retention import Retention
from evidence.types import ReviewState
from evidence.uploader import EvidenceUploader
from tests.edge.mqtt.builders import wait_for
from tests.evidence.conftest import record_events

BOX = "site-a"
YEAR_S = 365 * 86400.0


def index_of(root: Path) -> EvidenceIndex:
    return EvidenceIndex(root / "index.sqlite")


def confirmed_ids(root: Path) -> set[str]:
    index = index_of(root)
    try:
        return {e.event_id for e in index.events() if e.centre_confirmed_utc is not None}
    finally:
        index.close()


def test_evidence_recorded_during_an_outage_arrives_verified_afterwards_and_none_twice(centre, tmp_path):
    """The centre is down while violations are recorded (an outage compressed into seconds): nothing is lost,
    retention keeps what the centre has not confirmed, and once it is back every file arrives exactly once."""
    root = tmp_path / "box"
    record_events(root, entry_frames=(60,))  # creates the box's key and first evidence
    token = centre.register(BOX, root)
    uploader = EvidenceUploader(root, centre.url, token, interval_s=0.1)
    uploader.start()
    try:
        record_events(root, entry_frames=(70, 80), offset=200)  # more violations while the centre is down
        time.sleep(0.5)  # several upload passes fail meanwhile
        assert "Connection refused" in uploader.last_error and confirmed_ids(root) == set()

        # reviewed on the box, but the centre has no copy yet: retention deletes nothing
        index = index_of(root)
        for event in index.events():
            index.set_review(event.event_id, ReviewState.CONFIRMED, "officer", "")
        config = EvidenceConfig(root=root, upload={"url": centre.url}, min_free_mb=0)
        assert Retention(index, root, config).purge_expired(now=time.time() + YEAR_S) == 0
        every = {e.event_id for e in index.events()}
        assert len(every) == 3

        centre.start()  # the centre is back
        assert wait_for(lambda: confirmed_ids(root) == every, timeout=30), uploader.last_error
        stored = {u: centre.store.upload(u) for u in every}
        assert all(u is not None and u.confirmed_utc is not None for u in stored.values())
        assert [stored[e.event_id].seq for e in index.events()] == [1, 2, 3]  # the chain, in order
        for event in index.events():
            for f in index.files(event.event_id):
                key = f"{BOX}/{event.folder}/{f.relpath}"
                assert centre.storage.get(key) == (root / event.folder / f.relpath).read_bytes()
                assert centre.storage.writes[key] == 1  # none twice
        assert centre.store.alarms() == []

        # Confirmed by the centre and reviewed: now retention may delete the box's copy.
        assert Retention(index, root, config).purge_expired(now=time.time() + YEAR_S) > 0
        index.close()
        uploader.run_once()  # a later pass re-sends nothing
        assert max(centre.storage.writes.values()) == 1
    finally:
        uploader.stop()


def test_an_interrupted_upload_resumes_with_the_missing_files_only(centre, tmp_path):
    root = tmp_path / "box"
    record_events(root, entry_frames=(60,))
    token = centre.register(BOX, root)
    centre.start()
    index = index_of(root)
    [event] = index.events()
    files = [f for f in index.files(event.event_id) if not f.relpath.startswith("manifest.")]
    index.close()
    folder = root / event.folder
    auth = {"Authorization": f"Bearer {token}"}

    def put(path: str, data: bytes, **headers: str) -> dict:
        request = urllib.request.Request(f"{centre.url}/api/v1/evidence/{event.event_id}/{path}", data=data,
                                         method="PUT", headers={**auth, **headers})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    # the box was cut off after the manifest and one picture
    sig = (folder / "manifest.sig").read_bytes().hex()
    assert put("manifest", (folder / "manifest.json").read_bytes(), **{"X-Signature": sig}) == {"stored": True}
    first = files[0]
    assert put(f"files/{first.relpath}", (folder / first.relpath).read_bytes()) == {"stored": True}
    assert put(f"files/{first.relpath}", (folder / first.relpath).read_bytes()) == {"stored": False}  # no-op

    EvidenceUploader(root, centre.url, token).run_once()
    assert confirmed_ids(root) == {event.event_id}
    assert all(n == 1 for n in centre.storage.writes.values())
    assert len([k for k in centre.storage.writes if not k.endswith(("manifest.json", "manifest.sig"))]) == len(files)


def test_a_modified_file_is_refused_by_name_and_stays_on_the_box(centre, tmp_path):
    root = tmp_path / "box"
    record_events(root, entry_frames=(60, 70))
    token = centre.register(BOX, root)
    centre.start()
    index = index_of(root)
    first, second = index.events()
    picture = next(f for f in index.files(first.event_id) if f.relpath.endswith("2_entry.jpg"))
    index.close()
    path = root / first.folder / picture.relpath
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    uploader = EvidenceUploader(root, centre.url, token)
    uploader.run_once()
    assert confirmed_ids(root) == {second.event_id}  # the next one is not held back
    reason = uploader.refused[first.event_id]
    assert "HTTP 422" in reason and f"file-modified: {first.folder}/{picture.relpath}" in reason
    [alarm] = centre.store.alarms(BOX)
    assert alarm["kind"] == "file-modified" and picture.relpath in alarm["detail"]
    assert not centre.storage.exists(f"{BOX}/{first.folder}/{picture.relpath}")


def test_a_missing_sequence_number_raises_an_alarm_naming_box_and_numbers(centre, tmp_path):
    root = tmp_path / "box"
    record_events(root, entry_frames=(60, 70, 80))
    token = centre.register(BOX, root)
    centre.start()
    index = index_of(root)
    events = index.events()
    index.mark_centre_confirmed(events[1].event_id, "as if it had been removed from the outbox")
    index.close()

    EvidenceUploader(root, centre.url, token).run_once()
    [alarm] = centre.store.alarms(BOX)
    assert (alarm["box"], alarm["kind"]) == (BOX, "chain-gap")
    assert "sequence number(s) 2 never reached the centre" in alarm["detail"]
    assert centre.store.upload(events[2].event_id) is not None  # kept: the gap is the alarm, not the evidence


def test_a_wrong_token_stores_nothing(centre, tmp_path):
    root = tmp_path / "box"
    record_events(root, entry_frames=(60,))
    centre.register(BOX, root)
    centre.start()
    uploader = EvidenceUploader(root, centre.url, "not-the-token")
    uploader.run_once()
    assert "HTTP 401: unknown box token" in uploader.last_error
    assert confirmed_ids(root) == set() and centre.storage.writes == {}


def test_boxes_add_prints_a_token_the_centre_keeps_only_hashed(tmp_path, capsys):
    import argparse

    import pytest

    from edge.cli import CommandError
    from edge.commands import center
    from edge.mqtt.store import SqliteEventStore
    from evidence import signing

    key = signing.load_or_create(tmp_path / "keys" / "box.pem")
    pub = tmp_path / "box.pub.pem"
    pub.write_bytes(signing.public_pem(key.public_key()))
    db = tmp_path / "centre.sqlite"
    parser = argparse.ArgumentParser()
    center.register(parser.add_subparsers())
    args = parser.parse_args(["center", "boxes", "add", "elm-5th", "--pubkey", str(pub), "--db", str(db)])
    assert center.run(args) == 0
    token = capsys.readouterr().out.strip()
    store = SqliteEventStore(db)
    try:
        assert store.boxes() == ["elm-5th"] and store.box_by_token(token) is None  # only the hash is kept
        from edge.centre.evidence import token_hash

        assert store.box_by_token(token_hash(token))[0] == "elm-5th"
    finally:
        store.close()
    bad = parser.parse_args(["center", "boxes", "add", "x", "--pubkey", str(db), "--db", str(db)])
    with pytest.raises(CommandError, match="--pubkey"):
        center.run(bad)
