"""``crossguard eval``: capture rate and valid rate of the whole stack on labelled footage.

One clip:    crossguard eval VIDEO --site SITE.yaml (--tracks GT.txt | --expected LABELS.csv) --out DIR
Every case:  crossguard eval --cases [sites/eval/cases.yaml] [--only NAME] --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from detection.base import DetectorError
from detection.registry import build_detector
from edge.cli import CommandError
from edge.config import ConfigError, load_site
from edge.evaluation.cases import DEFAULT_CASES, SharedDetectors, load_case_site, load_cases
from edge.evaluation.groundtruth import GroundTruthError
from edge.evaluation.report import EvalReport, format_table, pool
from edge.evaluation.runner import EvalInputs, EvalOptions, load_ground_truth, run_eval
from edge.evaluation.tracking import MissingExtraError
from edge.signal.timeline_file import TimelineError
from edge.video import VideoError

SUMMARY_FILE = "summary.json"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="score detection, tracking and rules against labelled footage")
    parser.add_argument("video", type=Path, nargs="?", help="video file (omit with --cases)")
    parser.add_argument("--site", type=Path, help="site YAML file")
    truth = parser.add_mutually_exclusive_group()
    truth.add_argument("--tracks", type=Path, help="MOTChallenge ground-truth person tracks (frame,id,x,y,w,h,...)")
    truth.add_argument("--expected", type=Path, help="hand-written expected crossings (CSV)")
    truth.add_argument("--cases", type=Path, nargs="?", const=DEFAULT_CASES, help="run every labelled case in FILE")
    parser.add_argument("--only", action="append", default=[], help="with --cases: run only this case (repeatable)")
    parser.add_argument("--data", type=Path, help="shared data folder for --cases (default: ../shared/data)")
    parser.add_argument("--signal", type=Path, help="signal timeline; default: the site's sources")
    parser.add_argument("--start-time", help="ISO time of the first frame (for ISO timelines)")
    parser.add_argument(
        "--tolerance", type=float, default=1.0, help="largest entry-time distance of a match, s (cases set their own)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--annotate", action="store_true", help="also write annotated.mp4 marking misses/false records")
    parser.add_argument("--no-thumbnails", action="store_true", help="skip the thumbnail of each finding")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        reports = _run_cases(args) if args.cases else _run_one(args)
    except (ConfigError, DetectorError, GroundTruthError, MissingExtraError, TimelineError, VideoError) as exc:
        raise CommandError(str(exc)) from None
    args.out.mkdir(parents=True, exist_ok=True)
    pooled = pool(reports)
    summary = {"reports": [r.to_dict() for r in reports], "pooled": [p.to_dict() for p in pooled]}
    (args.out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(format_table([*reports, *pooled]))
    for report in reports:
        print(f"\n{report.case} ({report.model}, {report.ground_truth}):\n{report.findings_text()}")
    return 0


def _options(args: argparse.Namespace, out: Path) -> EvalOptions:
    return EvalOptions(
        out=out,
        annotate=args.annotate,
        thumbnails=not args.no_thumbnails,
        progress=args.progress,
        max_frames=args.max_frames,
    )


def _run_one(args: argparse.Namespace) -> list[EvalReport]:
    if args.video is None or args.site is None:
        raise CommandError("give VIDEO and --site (or --cases to run the labelled cases)")
    if args.tracks is None and args.expected is None:
        raise CommandError("give the ground truth: --tracks GT.txt or --expected LABELS.csv")
    site = load_site(args.site)
    inputs = EvalInputs(
        name=args.video.stem,
        video=args.video,
        tracks=args.tracks,
        expected=args.expected,
        signal=args.signal,
        start_time=args.start_time,
        tolerance_s=args.tolerance,
    )
    truth = load_ground_truth(site, inputs)  # bad labels fail before the model is even loaded
    return run_eval(site, build_detector(site.detector), inputs, _options(args, args.out), truth)


def _run_cases(args: argparse.Namespace) -> list[EvalReport]:
    cases = load_cases(args.cases, args.data)
    unknown = sorted(set(args.only) - {c.name for c in cases})
    if unknown:
        raise CommandError(f"{args.cases}: no case named {', '.join(unknown)}")
    chosen = [c for c in cases if not args.only or c.name in args.only]
    sites = [load_case_site(case, args.data) for case in chosen]
    # Every label file and timeline is checked before the first model loads.
    truths = [load_ground_truth(site, case.inputs) for case, site in zip(chosen, sites, strict=True)]
    detectors = SharedDetectors()
    reports = []
    for case, site, truth in zip(chosen, sites, truths, strict=True):
        options = _options(args, args.out / case.name)
        reports += run_eval(site, detectors.for_site(site), case.inputs, options, truth)
    return reports
