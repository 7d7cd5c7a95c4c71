"""``crossguard replay VIDEO --site SITE.yaml --signal TIMELINE --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.cli import CommandError
from edge.config import ConfigError, load_site
from edge.config.load import config_hash
from edge.replay import ReplayOptions, run_replay
from edge.signal.source import SignalSourceError
from edge.video import VideoError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("replay", help="run a recorded video through the decision pipeline")
    parser.add_argument("video", type=Path, help="video file")
    parser.add_argument("--site", type=Path, required=True, help="site YAML file")
    parser.add_argument("--signal", type=Path, help="signal timeline (CSV/JSON); default: the site's sources")
    parser.add_argument("--start-time", help="ISO time of the first frame (for ISO timelines and UTC stamps)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--annotate", action="store_true", help="also write annotated.mp4")
    parser.add_argument("--realtime", action="store_true", help="pace to the video's frame rate")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-evidence", action="store_true", help="do not record evidence (OUT/evidence)")
    parser.add_argument("--actuate", action="store_true", help="drive the site's real speaker, boards and GPIO")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from detection.base import DetectorError
    from detection.registry import build_detector
    from evidence.recorder import EvidenceUnavailable

    try:
        site = load_site(args.site)
    except ConfigError as exc:
        more = f" (and {len(exc.issues) - 1} more; see crossguard config check)" if len(exc.issues) > 1 else ""
        raise CommandError(f"{exc.issues[0]}{more}") from None
    options = ReplayOptions(
        video=args.video,
        out=args.out,
        signal=args.signal,
        start_time=args.start_time,
        annotate=args.annotate,
        realtime=args.realtime,
        progress=not args.no_progress,
        max_frames=args.max_frames,
        evidence=not args.no_evidence,
        actuate=args.actuate,
        config_hash=config_hash(args.site),
    )
    try:
        detector = build_detector(site.detector)
        summary = run_replay(site, detector, options)
    except (DetectorError, VideoError, SignalSourceError, EvidenceUnavailable) as exc:
        raise CommandError(str(exc)) from None
    print(
        f"{summary.frames} frames in {summary.wall_s:.1f} s ({summary.fps_achieved:.1f} fps, "
        f"{summary.realtime_factor:.1f}x real time): {summary.tracks} tracks, "
        f"{summary.crossings} crossings, {summary.violations} violations → {args.out}"
    )
    return 0
