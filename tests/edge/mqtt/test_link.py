"""The link on its own: a broker that never answers, and reconnecting after the broker comes back."""

from __future__ import annotations

import socket
import threading

from edge.mqtt.link import BrokerSettings, Link
from tests.edge.mqtt.builders import wait_for
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
