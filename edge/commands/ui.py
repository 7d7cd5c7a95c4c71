"""``crossguard ui --site SITE.yaml``: the web UI on its own, to review evidence and edit zones offline."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from edge.cli import CommandError
from edge.config import ConfigError, load_site
from edge.config.web import is_loopback

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ui", help="serve the web UI without the camera pipeline")
    parser.add_argument("--site", type=Path, required=True, help="site YAML file (its web section sets the defaults)")
    parser.add_argument("--host", help="listen address (default: web.host)")
    parser.add_argument("--port", type=int, help="listen port (default: web.port)")
    parser.add_argument("--cert", type=Path, help="TLS certificate (PEM); with --key serves HTTPS")
    parser.add_argument("--key", type=Path, help="TLS private key (PEM)")
    parser.add_argument("--users-db", type=Path, help="accounts database (default: web.users_db)")
    parser.add_argument("--evidence", type=Path, help="evidence folder for the review pages")
    parser.add_argument(
        "--data-dir", type=Path, help="the service's state folder, for today's counts (default: service.data_dir)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from edge.web import create_app
    from edge.web.standalone import standalone_context

    try:
        site = load_site(args.site)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    web = site.web.resolved(args.site.resolve().parent)
    cert, key = args.cert or web.tls_cert, args.key or web.tls_key
    if (cert is None) != (key is None):
        raise CommandError("give both --cert and --key for HTTPS")
    for path in (cert, key):
        if path is not None and not path.is_file():
            raise CommandError(f"{path}: TLS file not found")
    users_db = args.users_db or web.users_db
    data_dir = args.data_dir or site.service.data_dir
    context = standalone_context(args.site.resolve(), users_db, args.evidence, cert is not None, data_dir)
    app = create_app(context, web)
    host, port = args.host or web.host, args.port or web.port
    if cert is None and not is_loopback(host):
        log.warning(
            "serving the UI on %s over plain HTTP: passwords and session cookies cross the network readable;"
            " give --cert and --key (or web.tls_cert and web.tls_key)",
            host,
        )
    if not context.users_db.exists() or not app.state.web.users.list():
        log.warning("no accounts yet: create one with  crossguard users add NAME --role admin --users-db %s", users_db)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        log_level="info",
    )
    return 0
