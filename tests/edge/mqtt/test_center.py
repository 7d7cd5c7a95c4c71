"""``crossguard center``: idempotent storage, the per-site view over HTTP, bad messages and bad TLS."""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.request

import pytest

from edge.cli import CommandError
from edge.commands import center
from edge.mqtt.payloads import EvidenceReport, Origin, dumps, event_payload, evidence_payload
from edge.mqtt.store import SqliteEventStore
from tests.edge.mqtt.builders import CAMERA_ID, SITE_ID, Recorder, evidence_for, make_event, wait_for
from tests.mosquitto import free_port

BASE = f"crossguard/{SITE_ID}/{CAMERA_ID}"


def center_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    center.register(parser.add_subparsers())
    return parser.parse_args(["center", *argv])


def event_bytes(n: int, historical: bool = False) -> bytes:
    payload = event_payload(make_event(n), evidence_for(n), Origin(SITE_ID, CAMERA_ID, "box-17"))
    payload["historical"] = historical
    return dumps(payload).encode()


def test_center_stores_each_event_once_and_serves_the_view(mosquitto, tmp_path, capsys):
    db, port = tmp_path / "center.db", free_port()
    args = center_args(
        "--broker",
        mosquitto.url,
        "--db",
        str(db),
        "--client-id",
        "cli-center",
        "--http",
        str(port),
        "--interval",
        "0",
        "--duration",
        "4",
    )
    runner = threading.Thread(target=center.run, args=(args,))
    runner.start()
    time.sleep(1.0)
    sender = Recorder(mosquitto, "nothing/#")
    try:
        sender.publish(f"{BASE}/availability", "online")
        for n in (1, 2, 2, 3, 1):  # re-deliveries of 1 and 2
            sender.publish(f"{BASE}/events", event_bytes(n))
        sender.publish(f"{BASE}/events", b'{"schema": "crossguard.event.v1", "id": "x"}')
        sender.publish(f"{BASE}/events", b"garbage")
        sender.publish(f"{BASE}/availability", "sideways")

        def view() -> list[dict]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sites", timeout=2) as response:
                return json.load(response)

        assert wait_for(lambda: view() and view()[0]["rejected"] == 3, timeout=10), view()
        site = view()[0]
        assert (site["violations"], site["duplicates"], site["availability"]) == (3, 2, "online")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/events?site={SITE_ID}", timeout=2) as response:
            assert {e["track_id"] for e in json.load(response)} == {1, 2, 3}
    finally:
        sender.close()
        runner.join(15)
    printed = capsys.readouterr().out
    assert f"{SITE_ID}/{CAMERA_ID}" in printed and "online" in printed

    assert center.run(center_args("--db", str(db), "--show")) == 0
    assert "no sites" not in capsys.readouterr().out
    store = SqliteEventStore(db)
    assert len(store.event_ids()) == 3
    store.close()


def test_center_with_wrong_ca_fails_with_a_clear_error(mosquitto, tmp_path):
    args = center_args(
        "--broker",
        f"mqtts://{mosquitto.username}:{mosquitto.password}@127.0.0.1:{mosquitto.tls_port}",
        "--ca",
        str(mosquitto.wrong_ca_file),
        "--db",
        str(tmp_path / "c.db"),
        "--connect-timeout",
        "3",
    )
    with pytest.raises(CommandError, match="certificate not trusted"):
        center.run(args)


def test_center_over_tls_with_the_right_ca_never_shows_the_password(mosquitto, tmp_path, capsys, caplog):
    registry = tmp_path / "boxes.yaml"
    registry.write_text(f"boxes:\n  - site: {SITE_ID}\n    camera: {CAMERA_ID}\n")
    args = center_args(
        "--registry",
        str(registry),
        "--broker",
        f"mqtts://{mosquitto.username}:{mosquitto.password}@127.0.0.1:{mosquitto.tls_port}",
        "--ca",
        str(mosquitto.ca_file),
        "--db",
        str(tmp_path / "c.db"),
        "--duration",
        "0.5",
        "--interval",
        "0",
        "--client-id",
        "tls-center",
    )
    assert center.run(args) == 0
    out, err = capsys.readouterr()
    assert "accepting 1 known box(es)" in out and f"{mosquitto.username}:***@" in out
    assert mosquitto.password not in out + err + caplog.text


def test_center_without_a_registry_warns_that_it_accepts_any_box(mosquitto, tmp_path, capsys):
    args = center_args("--broker", mosquitto.url, "--db", str(tmp_path / "c.db"), "--duration", "0.2",
                       "--interval", "0", "--client-id", "open-center")  # fmt: skip
    assert center.run(args) == 0
    out, err = capsys.readouterr()
    assert "reports from ANY site and camera are accepted" in err and "accepting ANY box" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--broker", "http://example"], "must look like mqtt://"),
        (["--db", "DB"], "--broker is required"),
        (["--broker", "mqtt://127.0.0.1:1", "--ca", "x.pem"], "need an mqtts:// broker URL"),
        (["--broker", "mqtts://127.0.0.1:1", "--ca", "missing.pem"], "missing.pem: file not found"),
        (["--broker", "mqtt://u:s3cret@127.0.0.1:1", "--ca", "x.pem"], r"mqtt://u:\*\*\*@127"),
        (["--broker", "mqtt://127.0.0.1:1", "--registry", "missing.yaml"], "missing.yaml: <root>: file not found"),
        (["--broker", "mqtt://127.0.0.1:1", "--registry", "BOXES"], r"boxes.yaml:2: boxes\[0\].camera: Field required"),
    ],
)
def test_center_bad_arguments(tmp_path, argv, message):
    (tmp_path / "boxes.yaml").write_text("boxes:\n  - site: elm-5th\n")
    argv = [a.replace("DB", str(tmp_path / "c.db")).replace("BOXES", str(tmp_path / "boxes.yaml")) for a in argv]
    if "--db" not in argv:
        argv += ["--db", str(tmp_path / "c.db")]
    with pytest.raises(CommandError, match=message):
        center.run(center_args(*argv))


def test_centres_in_a_share_group_split_the_events_and_store_each_once(mosquitto, tmp_path):
    from edge.mqtt.collector import Collector, center_settings

    db = tmp_path / "shared.db"
    centres = [
        Collector(SqliteEventStore(db), center_settings(mosquitto.url, f"share-{n}"), share="centre") for n in (1, 2)
    ]
    for centre in centres:
        centre.start()
        assert centre.link.wait_connected(10)
    sender = Recorder(mosquitto, "nothing/#")
    try:
        for n in range(40):
            sender.publish(f"{BASE}/events", event_bytes(500 + n))
        assert wait_for(lambda: sum(c.stored for c in centres) == 40)
    finally:
        sender.close()
        for centre in centres:
            centre.stop()
    assert all(c.stored > 0 for c in centres)  # both took a share
    store = SqliteEventStore(db)
    assert len(store.event_ids()) == 40 and store.sites()[0].duplicates == 0
    store.close()


def evidence_bytes(n: int, seq: int | None) -> bytes:
    """Evidence of event ``n`` recorded at chain position ``seq``; None: its evidence was lost."""
    files, sha = (evidence_for(n), f"{seq:064x}") if seq is not None else ((), None)
    report = EvidenceReport(make_event(n).event_id, 1.0, files, sha, seq, "" if seq is not None else "storage full")
    return dumps(evidence_payload(report, Origin(SITE_ID, CAMERA_ID, "box-17"))).encode()


def test_center_view_shows_evidence_outcomes_dead_letters_and_chain_gaps(mosquitto, tmp_path, capsys):
    db, port = tmp_path / "center.db", free_port()
    clearer = Recorder(mosquitto, "nothing/#")  # another test's box may have left its availability retained
    clearer.publish(f"{BASE}/availability", b"", retain=True)
    clearer.close()
    args = center_args("--broker", mosquitto.url, "--db", str(db), "--client-id", "gap-center",
                       "--http", str(port), "--interval", "0", "--duration", "4")  # fmt: skip
    runner = threading.Thread(target=center.run, args=(args,))
    runner.start()
    time.sleep(1.0)
    sender = Recorder(mosquitto, "nothing/#")

    def get(path: str) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return json.load(response)

    def ours() -> dict:  # other tests' retained messages on the session's broker may add other sites
        return next((s for s in get("/sites") if (s["site"], s["camera"]) == (SITE_ID, CAMERA_ID)), {})

    try:
        for n in (1, 2, 3, 4):
            sender.publish(f"{BASE}/events", event_bytes(n))
        # 1, 2 recorded, 3 lost, 4 still without an outcome; 5 and 7 (their violations not in yet) skip 3-4 and 6
        for n, seq in ((1, 1), (2, 2), (3, None), (5, 5), (7, 7)):
            sender.publish(f"{BASE}/evidence", evidence_bytes(n, seq))
        sender.publish(f"{BASE}/events", b"garbage")
        sender.publish(f"{BASE}/status", b"[[[")
        assert wait_for(lambda: ours().get("dead_letters") == 2, timeout=10), get("/sites")
        assert wait_for(lambda: ours()["chain_gaps"] == ["3-4", "6"], timeout=10), get("/sites")
        site = ours()
        assert (site["violations"], site["evidence_recorded"], site["evidence_lost"], site["evidence_pending"]) == (
            4, 2, 1, 1,
        )  # fmt: skip
        gaps = get(f"/chain-gaps?site={SITE_ID}")
        assert [(g["site"], g["camera"], g["first_seq"], g["last_seq"], g["numbers"]) for g in gaps] == [
            (SITE_ID, CAMERA_ID, 3, 4, "3-4"),
            (SITE_ID, CAMERA_ID, 6, 6, "6"),
        ]
        assert get("/chain-gaps?site=another-site") == []
    finally:
        sender.close()
        runner.join(15)
    alarm = f"EVIDENCE CHAIN GAP: box {SITE_ID}/{CAMERA_ID}: evidence sequence number(s)"
    alarm += " 3-4, 6 never reached the centre"
    assert alarm in capsys.readouterr().out  # the line printed at the end of the run

    assert center.run(center_args("--db", str(db), "--show")) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    [row] = [line for line in lines if line.startswith(f"{SITE_ID}/{CAMERA_ID} ")]
    alarms = [line for line in lines if line.startswith("EVIDENCE CHAIN GAP")]
    assert header.split()[7:12] == ["evid", "lost", "wait", "dead", "status"]
    assert row.split()[:11] == [f"{SITE_ID}/{CAMERA_ID}", "unknown", "0", "4", "0", "0", "2", "2", "1", "1", "2"]
    assert alarms == [alarm]


def test_site_view_keeps_each_box_apart_and_shows_a_gap_before_any_event(tmp_path):
    store = SqliteEventStore(tmp_path / "center.db")
    try:
        for n, seq in ((1, 1), (4, 4)):  # a box whose first messages are evidence: 2-3 never arrived
            payload = json.loads(evidence_bytes(n, seq))
            store.add_evidence(payload)
            store.note_chain_head(payload)
        other = json.loads(event_bytes(9))
        other["camera"] = "cam2"
        store.add_event(other)
        store.add_dead_letter(SITE_ID, "cam3", f"crossguard/{SITE_ID}/cam3/events", "unknown box", b"x")
        views = {s.camera: s for s in store.sites()}
    finally:
        store.close()
    assert set(views) == {CAMERA_ID, "cam2"}  # the unknown box's dead letter makes no row
    assert (views[CAMERA_ID].violations, views[CAMERA_ID].evidence_recorded, views[CAMERA_ID].chain_gaps) == (
        0, 0, ("2-3",),
    )  # fmt: skip
    cam2 = views["cam2"]
    assert (cam2.evidence_pending, cam2.dead_letters, cam2.chain_gaps) == (1, 0, ())
    assert center.format_view(list(views.values())).splitlines()[3:] == [
        f"EVIDENCE CHAIN GAP: box {SITE_ID}/{CAMERA_ID}: evidence sequence number(s) 2-3 never reached the centre"
    ]
