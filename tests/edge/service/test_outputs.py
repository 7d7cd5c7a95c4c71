"""The optional outputs, wired by the service to the real packages: MQTT to a real broker, evidence on disk."""

from __future__ import annotations

import hashlib
import json
import threading

import paho.mqtt.client as mqtt
import pytest

from tests.edge.service.sites import start_service, write_site
from tests.edge.service.test_run import journal
from tests.mosquitto import Mosquitto

pytestmark = pytest.mark.timeout(120)


class Subscriber:
    """Everything published under ``crossguard/#``, as (topic, payload) pairs."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-centre")
        self.client.on_connect = lambda c, *_: (c.subscribe("crossguard/#", qos=1), self.ready.set())
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def _on_message(self, _client: object, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        if not msg.topic.endswith("/availability"):  # the rest are JSON documents
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_events_status_and_evidence_reach_their_outputs(tmp_path) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        centre = Subscriber(broker.port)
        site = write_site(
            tmp_path,
            timeline="t,group,state\n0.0,ped-main,DONT_WALK\n",
            service={"capture": {"realtime": False, "loop": True}},
            mqtt={"enabled": True, "host": "127.0.0.1", "port": broker.port, "fsync": False},
        )
        proc = start_service(site, "--max-frames", "200")
        _, err = proc.communicate(timeout=100)
        centre.close()
    assert proc.returncode == 0, err[-2000:]
    decided = journal(tmp_path / "state")
    sent = {p["id"]: p for topic, p in centre.messages if topic.endswith("/events")}
    assert decided and {e["event_id"] for e in decided} <= set(sent)  # every decided event reached the centre
    assert any(p["type"] == "violation" for p in sent.values())
    statuses = [p for topic, p in centre.messages if topic.endswith("/status")]
    assert statuses
    last = statuses[-1]  # names the signal sources' health and the storage the evidence lives on
    assert last["signal"]["states"] == {"ped-main": "DONT_WALK"}
    assert last["signal"]["sources"] and all("ok" in h for h in last["signal"]["sources"])
    assert last["storage"]["free_bytes"] > 0 and 0 <= last["storage"]["used_fraction"] <= 1
    evidence = [p for p in (tmp_path / "evidence").glob("2*/*/*/*") if p.is_dir()]
    assert sorted(p.name for p in evidence) == sorted(e["event_id"] for e in decided if e["type"] == "violation")
    # Each violation's evidence follows it, linked by event id, each hash as the box stored it.
    outcomes = {p["event_id"]: p for topic, p in centre.messages if topic.endswith("/evidence")}
    for folder in evidence:
        assert sent[folder.name]["type"] == "violation"
        payload = outcomes[folder.name]
        assert payload["status"] == "recorded"
        listed = {f["path"]: f["sha256"] for f in payload["files"]}
        manifest = json.loads((folder / "manifest.json").read_text())
        relative = folder.relative_to(tmp_path / "evidence").as_posix()
        for entry in manifest["files"]:
            assert listed[f"{relative}/{entry['path']}"] == entry["sha256"]
        # ...and with the evidence chain head they leave, so a deleted tail can be caught off the box.
        manifest_sha = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
        assert (payload["sequence"], payload["manifest_sha256"]) == (manifest["sequence"], manifest_sha)
