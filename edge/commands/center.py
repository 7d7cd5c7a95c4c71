"""``crossguard center --broker URL --db PATH``: the traffic centre's collector and per-site view."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from edge.cli import CommandError
from edge.config.load import ConfigError
from edge.logtext import printable
from edge.mqtt.collector import Collector, center_settings
from edge.mqtt.link import BrokerSettings, TlsSettings, masked_url
from edge.mqtt.registry import BoxRegistry, load_registry
from edge.mqtt.store import EventStore, SiteView, open_store

log = logging.getLogger(__name__)
ANY_BOX_WARNING = (
    "center: no --registry given: reports from ANY site and camera are accepted, including forged"
    " ones; give --registry boxes.yaml to accept only known boxes"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("center", help="collect every site's MQTT reports into a database and show them")
    p.add_argument(
        "words", nargs="*", metavar="boxes add BOX | boxes list",
        help="register a box for evidence upload (prints its token once; --pubkey: its evidence key) or list them",
    )  # fmt: skip
    p.add_argument("--pubkey", type=Path, help="with 'boxes add': the box's evidence public key (PEM)")
    p.add_argument(
        "--web", metavar="[HOST:]PORT", help="serve the centre's web app (evidence upload API, UI) on HOST:PORT"
    )
    p.add_argument("--storage", type=Path, default=Path("centre-evidence"),
                   help="folder for uploaded evidence files (default: ./centre-evidence)")  # fmt: skip
    p.add_argument("--users-db", type=Path,
                   help="with --web: accounts file of the centre's UI (crossguard users add NAME --role police"
                        " --users-db FILE); without it only the boxes' upload API is served")  # fmt: skip
    p.add_argument("--map-tiles", default="", help="with --web: a tile URL template (https://…/{z}/{x}/{y}.png) for"
                   " the overview's Leaflet map; none: the list only")  # fmt: skip
    p.add_argument("--leaflet-js", default="", help="with --map-tiles: URL of a Leaflet 1.9 script (not bundled)")
    p.add_argument("--leaflet-css", default="", help="... and of its style sheet")
    p.add_argument("--command-key-file", type=Path, help="with --web: key that signs the UI's commands to the boxes")
    p.add_argument("--tls-cert", type=Path, help="with --web: serve HTTPS with this certificate (PEM) ...")
    p.add_argument("--tls-key", type=Path, help="... and this key")
    p.add_argument("--broker", help="mqtt://[user:pass@]host:1883 or mqtts://host:8883")
    p.add_argument(
        "--db", required=True, help="SQLite file of the centre (created if missing) or postgresql://user@host/db"
    )
    p.add_argument("--prefix", default="crossguard", help="topic prefix the boxes use (default: crossguard)")
    p.add_argument("--protocol", choices=("5", "3.1.1"), default="5", help="MQTT protocol version")
    p.add_argument(
        "--client-id", default="crossguard-center", help="MQTT client id; keep it fixed (persistent session)"
    )
    p.add_argument(
        "--share", metavar="GROUP", help="split events with other centres in this shared-subscription group"
    )
    p.add_argument("--ca", type=Path, help="CA file for mqtts:// (default: system CAs)")
    p.add_argument("--cert", type=Path, help="client certificate (PEM) for mqtts://")
    p.add_argument("--key", type=Path, help="client key (PEM) for mqtts://")
    p.add_argument(
        "--registry",
        type=Path,
        help="YAML list of the boxes (site, camera) whose reports are accepted; others go to the dead letters",
    )
    p.add_argument("--http", metavar="PORT", type=int, help="serve the view as JSON on 127.0.0.1:PORT")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between printed views (0: never)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: run until Ctrl-C)")
    p.add_argument(
        "--connect-timeout", type=float, default=15.0, help="give up if the first connect fails this long"
    )
    p.add_argument("--show", action="store_true", help="print the view stored in --db and exit (no broker)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        store = open_store(args.db)
    except Exception as exc:
        raise CommandError(f"{masked_url(args.db)}: cannot open the centre database: {exc}") from None
    try:
        if args.words:
            return _boxes(args, store)
        if args.show:
            print(format_view(store.sites()))
            return 0
        if not args.broker:
            raise CommandError("--broker is required (or --show to print the stored view)")
        return _collect(args, store)
    finally:
        store.close()


def _collect(args: argparse.Namespace, store: EventStore) -> int:
    settings, registry = _settings(args), _registry(args.registry)
    collector = Collector(store, settings, prefix=args.prefix, share=args.share, registry=registry)
    server = _serve_http(store, args.http) if args.http else None
    web = _serve_web(args, store) if args.web else None
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    collector.start()
    try:
        if not collector.link.wait_connected(args.connect_timeout):
            raise CommandError(f"{masked_url(args.broker)}: {collector.link.state.last_error or 'no connection'}")
        known = f"{len(registry.boxes)} known box(es)" if registry is not None else "ANY box"
        where = f"{masked_url(args.broker)} into {masked_url(args.db)}"
        print(f"center: collecting from {where}, accepting {known}", flush=True)
        deadline = time.monotonic() + args.duration if args.duration else None
        next_print = time.monotonic()
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if args.interval > 0 and time.monotonic() >= next_print:
                print(format_view(store.sites()), flush=True)
                next_print = time.monotonic() + args.interval
            stop.wait(0.2)
    finally:
        collector.stop()
        if server is not None:
            server.shutdown()
        if web is not None:
            web.stop()
    print(format_view(store.sites()), flush=True)
    return 0


def _boxes(args: argparse.Namespace, store: EventStore) -> int:
    """``boxes add BOX --pubkey PEM`` prints the box's new token (kept only hashed); ``boxes list``."""
    from edge.centre.evidence import add_box

    words = args.words
    if words[:2] == ["boxes", "add"] and len(words) == 3:
        if args.pubkey is None:
            raise CommandError("boxes add: --pubkey is required (the box's key: crossguard evidence pubkey)")
        try:
            token = add_box(store, words[2], args.pubkey.read_bytes())  # type: ignore[arg-type]
        except OSError as exc:
            raise CommandError(f"--pubkey {args.pubkey}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise CommandError(f"--pubkey {args.pubkey}: {exc}") from None
        print(token)
        print(f"box {words[2]} registered; give it this token (evidence.upload.token_env or token_file): it is"
              " not shown again", file=sys.stderr)  # fmt: skip
        return 0
    if words == ["boxes", "list"]:
        for box in store.boxes():  # type: ignore[attr-defined]
            print(box)
        return 0
    raise CommandError(f"unknown: {' '.join(words)} (try: boxes add BOX --pubkey PEM, boxes list)")


def _serve_web(args: argparse.Namespace, store: EventStore) -> object:
    from edge.centre.app import create_centre_app
    from edge.centre.evidence import LocalDiskStorage
    from edge.ops.http import HttpServer

    host, _, port = str(args.web).rpartition(":")
    ui = None
    if args.users_db is not None:
        from edge.centre.web import CentreWebSettings
        from edge.mqtt.commands import read_command_key

        if args.map_tiles and not (args.leaflet_js and args.leaflet_css):
            raise CommandError("--map-tiles needs --leaflet-js and --leaflet-css (URLs of a Leaflet build)")
        key = None
        if args.command_key_file is not None:
            key, why = read_command_key(None, args.command_key_file)
            if key is None:
                raise CommandError(f"--command-key-file: {why}")
        ui = CentreWebSettings(
            users_db=args.users_db, https=args.tls_cert is not None, registry=_registry_or_none(args.registry),
            map_tiles=args.map_tiles, leaflet_js=args.leaflet_js, leaflet_css=args.leaflet_css,
            broker=_settings(args) if args.broker else None, command_key=key, prefix=args.prefix,
        )  # fmt: skip
    try:
        app = create_centre_app(store, LocalDiskStorage(args.storage), ui)  # type: ignore[arg-type]
        server = HttpServer(app, host or "127.0.0.1", int(port), what="centre web", certfile=args.tls_cert,
                            keyfile=args.tls_key)  # fmt: skip
        server.start()
    except (ValueError, OSError) as exc:
        raise CommandError(f"--web {args.web}: {exc}") from None
    print(f"center: web app on {server.scheme}://{server.host}:{server.port}", flush=True)
    return server


def _registry_or_none(path: Path | None) -> BoxRegistry | None:
    try:
        return load_registry(path) if path is not None else None
    except ConfigError as exc:
        raise CommandError(f"--registry: {exc}") from None


def _settings(args: argparse.Namespace) -> BrokerSettings:
    return broker_from_args(args, center_settings)


def broker_from_args(
    args: argparse.Namespace, make: Callable[..., BrokerSettings] = BrokerSettings.from_url
) -> BrokerSettings:
    """``--broker``, ``--client-id``, ``--protocol`` and ``--ca/--cert/--key`` as connection settings."""
    try:
        settings = make(args.broker, args.client_id, protocol=args.protocol)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.ca or args.cert or args.key:
        if not args.broker.startswith(("mqtts://", "ssl://")):
            raise CommandError(f"--ca/--cert/--key need an mqtts:// broker URL, got {masked_url(args.broker)}")
        for path in (args.ca, args.cert, args.key):
            if path is not None and not path.is_file():
                raise CommandError(f"{path}: file not found")
        tls = TlsSettings(*(str(p) if p else None for p in (args.ca, args.cert, args.key)))
        settings = dataclasses.replace(settings, tls=tls)
    return settings


def _registry(path: Path | None) -> BoxRegistry | None:
    if path is None:
        log.warning(ANY_BOX_WARNING)
        print(f"WARNING: {ANY_BOX_WARNING}", file=sys.stderr, flush=True)
        return None
    try:
        return load_registry(path)
    except ConfigError as exc:
        raise CommandError(f"--registry: {exc}") from None


def format_view(sites: list[SiteView]) -> str:
    """One line per site camera: availability, counts, evidence outcomes, dead letters, the last status's key
    figures; then one alarm line per box with open evidence chain gaps.

    Site and camera ids come from topics, anyone's choice without a registry: printed escaped.
    """
    if not sites:
        return "no sites reported yet"
    lines = [
        f"{'site/camera':28} {'avail':8} {'cross':>6} {'viol':>6} {'hist':>5} {'dup':>5} {'bad':>4}"
        f" {'evid':>6} {'lost':>5} {'wait':>5} {'dead':>5}  status"
    ]
    for s in sites:
        st = s.status or {}
        status = printable(f"{st.get('time', '')} fps={st.get('fps')} outbox={st.get('outbox_depth')}") if st else "-"
        lines.append(
            f"{printable(s.site + '/' + s.camera):28} {s.availability:8} {s.crossings:>6} {s.violations:>6} "
            f"{s.historical:>5} {s.duplicates:>5} {s.rejected:>4} {s.evidence_recorded:>6} {s.evidence_lost:>5} "
            f"{s.evidence_pending:>5} {s.dead_letters:>5}  {status}"
        )
    lines += [
        f"EVIDENCE CHAIN GAP: box {printable(s.site + '/' + s.camera)}: evidence sequence number(s)"
        f" {', '.join(s.chain_gaps)} never reached the centre"
        for s in sites
        if s.chain_gaps
    ]
    return "\n".join(lines)


def _serve_http(store: EventStore, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/sites":
                body: object = [s.to_dict() for s in store.sites()]
            elif url.path == "/events":
                query = parse_qs(url.query)
                body = store.events(query.get("site", [None])[0], int(query.get("limit", ["100"])[0]))
            elif url.path == "/dead-letters":
                limit = int(parse_qs(url.query).get("limit", ["100"])[0])
                body = [letter.to_dict() for letter in store.dead_letters(limit)]
            elif url.path == "/chain-gaps":
                body = [gap.to_dict() for gap in store.chain_gaps(parse_qs(url.query).get("site", [None])[0])]
            else:
                self.send_error(404, "try /sites, /events?site=ID, /dead-letters or /chain-gaps?site=ID")
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            return None

    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        raise CommandError(f"--http {port}: cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    threading.Thread(target=server.serve_forever, name="center-http", daemon=True).start()
    return server
