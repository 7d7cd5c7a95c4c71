"""``crossguard run --site SITE.yaml``: the live service (camera → decisions → outputs), until stopped."""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

from edge.cli import CommandError
from edge.config import ConfigError, load_site

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run the live service for a site (camera, decisions, outputs)")
    parser.add_argument("--site", type=Path, required=True, help="site YAML file")
    parser.add_argument(
        "--data-dir", type=Path, help="state folder (default: service.data_dir in the site file)"
    )
    parser.add_argument("--source", help="override camera.source (URL, /dev/videoN or a video file)")
    parser.add_argument("--port", type=int, help="override service.http.port (0: any free port)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds (bench and test runs)")
    parser.add_argument("--max-frames", type=int, help="stop after this many processed frames")
    parser.add_argument("--log-format", choices=["text", "json"], help="override service.log_format")
    parser.set_defaults(func=run)


def _with_overrides(site, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    service = site.service
    if args.port is not None:
        service = service.model_copy(update={"http": service.http.model_copy(update={"port": args.port})})
    if args.log_format:
        service = service.model_copy(update={"log_format": args.log_format})
    update: dict[str, object] = {"service": service}
    if args.source and len(site.camera_configs()) > 1:
        cameras = ", ".join(c.id for c in site.camera_configs())
        raise CommandError(f"--source replaces the one camera's source; this site has several ({cameras})")
    if args.source:
        # A file named on the command line is relative to where the command runs, not to the site.
        source = str(Path(args.source).resolve()) if Path(args.source).exists() else args.source
        update["camera"] = site.camera.model_copy(update={"source": source})
    return site.model_copy(update=update)


def run(args: argparse.Namespace) -> int:
    from detection.base import DetectorError
    from edge.capture import CaptureError
    from edge.config.load import config_hash
    from edge.ops.logs import configure_logging
    from edge.service import RunLimits, Service
    from edge.signal.timeline_file import TimelineError

    try:
        site = _with_overrides(load_site(args.site), args)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    configure_logging(site.service.log_format, getattr(args, "verbose", False))
    try:
        service = Service(site, args.site, args.data_dir, config_hash=config_hash(args.site))
    except (DetectorError, CaptureError, TimelineError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(
            f"{args.data_dir or site.service.data_dir}: cannot prepare the state folder ({exc})"
        ) from None

    def on_signal(signum: int, _frame: object) -> None:
        log.info("service: %s received; finishing the current frame", signal.Signals(signum).name)
        service.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        service.start()
    except OSError as exc:
        service.stop()
        raise CommandError(str(exc)) from None
    try:
        service.run(RunLimits(args.duration, args.max_frames))
    finally:
        service.stop()
    status = service.status()
    print(
        f"{status.frames_processed} frames ({status.frames_dropped} dropped), {status.reconnects} reconnects,"
        f" {status.crossings} crossings, {status.violations} violations"
    )
    return 0
