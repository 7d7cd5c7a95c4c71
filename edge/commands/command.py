"""``crossguard command SITE/CAMERA enforcement off``: send one signed command to a box, print its answer.

The centre's side of ``edge.mqtt.commands``: the command is signed with the key the box has in
``mqtt.command_key_env``/``command_key_file``, published on ``<prefix>/<site>/<camera>/<name>/set``,
and the box's answer on ``…/<name>/state`` is printed as JSON. Exit status 0 when the box says
``ok``, 1 when it refused, 2 when no answer came.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import ssl
import threading
import uuid
from pathlib import Path
from typing import Any

from edge.cli import CommandError
from edge.commands.center import broker_from_args
from edge.mqtt.commands import read_command_key, sign_command
from edge.mqtt.inbound import PayloadError, parse_json
from edge.mqtt.link import BrokerSettings, connect_kwargs, make_client
from edge.mqtt.topics import Topics

# What each command's VALUE means as a body.
BODIES: dict[str, dict[str, dict[str, Any]]] = {
    "enforcement": {"on": {"enabled": True}, "off": {"enabled": False}},
    "mute": {"on": {"muted": True}, "off": {"muted": False}},
    "test": {target: {"target": target} for target in ("led", "speaker", "lights", "controller", "all")},
    "announce": {},  # the value is the text to speak
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("command", help="send a signed command to a box (enforcement, mute, test, announce)")
    p.add_argument("box", metavar="SITE/CAMERA", help="the box, e.g. elm-5th/cam1")
    p.add_argument("name", choices=sorted(BODIES), help="the command")
    p.add_argument(
        "value", help="enforcement/mute: on|off; test: led|speaker|lights|controller|all; announce: the text"
    )
    p.add_argument("--language", default="en", help="announce: language of the text, e.g. en, zh-CN")
    p.add_argument("--urgent", action="store_true", help="announce: play even in quiet hours or while muted")
    p.add_argument("--by", help="who asks (recorded with an enforcement or mute switch)")
    p.add_argument("--broker", required=True, help="mqtt://[user:pass@]host:1883 or mqtts://host:8883")
    p.add_argument("--prefix", default="crossguard", help="topic prefix of the boxes (default: crossguard)")
    p.add_argument("--protocol", choices=("5", "3.1.1"), default="5", help="MQTT protocol version")
    p.add_argument("--client-id", default=f"crossguard-command-{os.getpid()}", help="MQTT client id")
    p.add_argument("--ca", type=Path, help="CA file for mqtts:// (default: system CAs)")
    p.add_argument("--cert", type=Path, help="client certificate (PEM) for mqtts://")
    p.add_argument("--key", type=Path, help="client key (PEM) for mqtts://")
    key = p.add_mutually_exclusive_group()
    key.add_argument(
        "--command-key-env",
        default="CROSSGUARD_COMMAND_KEY",
        help="environment variable holding the box's command key (default: CROSSGUARD_COMMAND_KEY)",
    )
    key.add_argument("--command-key-file", type=Path, help="file holding the box's command key instead")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the box's answer")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    site, _, camera = args.box.partition("/")
    if not site or not camera or "/" in camera:
        raise CommandError(f"SITE/CAMERA expected, got '{args.box}'")
    body = BODIES[args.name].get(args.value)
    if args.name == "announce":
        body = {"text": args.value, "language": args.language, **({"urgent": True} if args.urgent else {})}
    if body is None:
        raise CommandError(f"{args.name} takes one of {', '.join(BODIES[args.name])}, got '{args.value}'")
    if args.by is not None and args.name != "test":
        body = {**body, "by": args.by}
    key, why = read_command_key(None if args.command_key_file else args.command_key_env, args.command_key_file)
    if key is None:
        raise CommandError(why)
    topics = Topics(args.prefix, site, camera)
    request_id = uuid.uuid4().hex
    signed = sign_command(key, topics.command_set(args.name), {**body, "request_id": request_id})
    answer = exchange(broker_from_args(args), topics, args.name, signed, args.timeout)
    print(json.dumps(answer, indent=2))
    return 0 if answer.get("ok") is True else 1


def exchange(
    settings: BrokerSettings, topics: Topics, name: str, command: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """Publish ``command`` once the answer topic is subscribed; the answer carrying its request id."""
    answers: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
    subscribed, refused = threading.Event(), []
    client = make_client(settings)

    def on_connect(c: Any, _u: object, _f: object, reason: Any, _p: object) -> None:
        if reason.is_failure:
            refused.append(str(reason))
            subscribed.set()
        else:
            c.subscribe(topics.command_state(name), qos=0)

    def on_message(_c: object, _u: object, message: Any) -> None:
        try:
            answer = parse_json(bytes(message.payload))
        except PayloadError:
            return
        if isinstance(answer, dict) and answer.get("request_id") == command["request_id"]:
            answers.put(answer)

    client.on_connect = on_connect
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = on_message
    try:
        client.connect(settings.host, settings.port, settings.keepalive_s, **connect_kwargs(settings))
    except (OSError, ssl.SSLError) as exc:
        raise CommandError(f"cannot reach broker {settings.url}: {exc}") from None
    client.loop_start()
    try:
        if not subscribed.wait(timeout) or refused:
            raise CommandError(f"broker {settings.url}: {refused[0] if refused else 'no answer to CONNECT'}")
        client.publish(topics.command_set(name), json.dumps(command), qos=1)
        try:
            return answers.get(timeout=timeout)
        except queue.Empty:
            raise CommandError(
                f"no answer from {topics.base} within {timeout:g} s (box offline, or not subscribed?)"
            ) from None
    finally:
        client.disconnect()
        client.loop_stop()
