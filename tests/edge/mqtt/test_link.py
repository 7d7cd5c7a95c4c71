"""The link on its own: a broker that never answers, reconnecting after the broker comes back, and
handlers that fail (a bad message is acknowledged; a ``Redeliver`` brings the message back)."""

from __future__ import annotations

import logging
import socket
import threading

from edge.mqtt.link import BrokerSettings, Link, Redeliver
from tests.edge.mqtt.builders import Recorder, wait_for
from tests.mosquitto import HOST


def test_a_listener_that_never_sends_connack_is_given_up_on_and_retried(tmp_path):
    server = socket.socket()
    server.bind((HOST, 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept_and_stay_silent() -> None:
        try:
            while True:
                accepted.append(server.accept()[0])
        except OSError:  # the server socket was closed: test over
            return

    threading.Thread(target=accept_and_stay_silent, daemon=True).start()
    settings = BrokerSettings(
        HOST,
        server.getsockname()[1],
        "silent-test",
        connack_timeout_s=0.5,
        reconnect_min_s=0.1,
        reconnect_max_s=0.2,
    )
    link = Link(settings)
    link.start()
    try:
        assert wait_for(lambda: "no CONNACK within 0.5 s" in link.state.last_error, timeout=5)
        assert wait_for(lambda: len(accepted) >= 2, timeout=5)  # tried again
        assert not link.state.connected
    finally:
        link.stop(timeout=0.5)
        for conn in accepted:
            conn.close()
        server.close()


def test_reconnects_after_the_broker_restarts(private_mosquitto):
    settings = BrokerSettings(HOST, private_mosquitto.port, "reconnect-test", reconnect_min_s=0.1, reconnect_max_s=0.5)
    link = Link(settings)
    link.start()
    try:
        assert link.wait_connected(10)
        private_mosquitto.stop()
        assert wait_for(lambda: not link.state.connected)
        assert wait_for(lambda: "cannot reach broker" in link.state.last_error)
        private_mosquitto.start()
        assert wait_for(lambda: link.state.connected and link.state.connects == 2, timeout=10)
        assert link.state.last_error == ""
    finally:
        link.stop(timeout=0.5)


def test_a_handler_failure_never_wedges_the_inflight_window(mosquitto, caplog):
    """mosquitto lets 20 QoS 1 messages await an ack per client: 25 failing ones would block the rest."""
    caplog.set_level(logging.ERROR)
    handled: list[bytes] = []
    attempts: dict[bytes, int] = {}

    def handler(_topic: str, payload: bytes) -> None:
        attempts[bytes(payload)] = attempts.get(bytes(payload), 0) + 1
        if payload.startswith(b"poison"):
            raise RecursionError("maximum recursion depth exceeded")
        if payload == b"store-down" and attempts[b"store-down"] < 3:
            raise Redeliver("the store is down")
        handled.append(bytes(payload))

    settings = BrokerSettings(HOST, mosquitto.port, "wedge-test", clean_start=False, session_expiry_s=300,
                              reconnect_min_s=0.1, reconnect_max_s=0.5)  # fmt: skip
    link = Link(settings, name="wedge")
    link.subscribe("wedge/#", handler)
    link.start()
    sender = Recorder(mosquitto, "nothing/#")
    try:
        assert link.wait_connected(10)
        for n in range(25):
            sender.publish("wedge/in", f"poison {n}")
        sender.publish("wedge/in", "store-down")
        sender.publish("wedge/in", "good")
        assert wait_for(lambda: sorted(handled) == [b"good", b"store-down"], 30), handled
    finally:
        sender.close()
        link.stop(timeout=0.5)
    assert attempts[b"store-down"] == 3 and link.state.connects >= 3  # redelivered on new connections
    again = {k: v for k, v in attempts.items() if v != 1 and k != b"store-down"}
    assert again == {}  # every poison acknowledged (its ack reached the broker): never delivered again
    failures = [r for r in caplog.records if "handling a message on wedge/in failed" in r.getMessage()]
    assert len(failures) == 1


def test_connected_means_listening_a_message_sent_at_once_arrives(mosquitto):
    """``wait_connected`` returns once the broker has acknowledged every subscription, so a command
    published the moment it returns is handled: no sleep, however loaded the box."""
    sender = Recorder(mosquitto, "nothing/#")
    for round_ in range(5):
        handled = threading.Event()
        settings = BrokerSettings(HOST, mosquitto.port, f"listening-test-{round_}")
        link = Link(settings, name="listening")
        link.subscribe("listening/#", lambda _topic, _payload, done=handled: done.set())
        assert not link.state.listening
        link.start()
        try:
            assert link.wait_connected(10) and link.state.listening
            sender.publish("listening/in", "at once")  # not retained: lost if the subscription were not in place
            assert handled.wait(10), f"round {round_}: a message sent once connected was not handled"
        finally:
            link.stop(timeout=0.5)
        assert not link.state.listening
    sender.close()
