"""``crossguard signal ...``: calibrate the vision reader on a frame, record a controller feed."""

from __future__ import annotations

import argparse
import signal as os_signal
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from edge.cli import CommandError
from edge.config.signal import HeadCalibration, VisionSourceConfig
from edge.signal.head_classifier import HeadReading, classify, crop
from edge.signal.head_tracker import STEADY_STATE


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("signal", help="signal-state tools")
    actions = parser.add_subparsers(dest="signal_command", required=True, metavar="ACTION")

    cal = actions.add_parser("calibrate", help="print the colours measured in a signal-head region")
    picture = cal.add_mutually_exclusive_group(required=True)
    picture.add_argument("--image", help="photo or saved frame")
    picture.add_argument("--video", help="video file")
    cal.add_argument("--frame", type=int, default=0, help="frame number in --video (default 0)")
    cal.add_argument(
        "--region", required=True, help="x1,y1,x2,y2 of the head: fractions 0..1 of the picture, or pixels"
    )
    cal.add_argument("--site", help="site file whose vision calibration to use (default: built-in)")
    cal.set_defaults(func=run_calibrate)

    plan = actions.add_parser("plan", help="print the state changes a site's fixed-time plan gives")
    plan.add_argument("--site", required=True, help="site file with a fixed_time signal source")
    plan.add_argument("--source", help="name of the fixed_time source (default: the first)")
    plan.add_argument("--from", dest="start", required=True, help="local start time, e.g. 2026-03-08T01:30")
    plan.add_argument("--minutes", type=float, default=10.0, help="how long to list (default 10)")
    plan.set_defaults(func=run_plan)

    rec = actions.add_parser("record", help="record a controller feed from MQTT to JSON lines for replay")
    rec.add_argument("--broker", default="127.0.0.1:1883", help="host[:port] of the MQTT broker")
    rec.add_argument("--topic", required=True, help="topic to record (wildcards allowed)")
    rec.add_argument("-o", "--output", required=True, help="JSON-lines file to append to")
    rec.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    rec.add_argument("--count", type=int, default=None, help="stop after this many messages")
    rec.set_defaults(func=run_record)


# --- calibrate ----------------------------------------------------------------------------------


def _load_picture(args: argparse.Namespace) -> np.ndarray:
    if args.image:
        image = cv2.imread(args.image, cv2.IMREAD_COLOR)
        if image is None:
            raise CommandError(f"{args.image}: cannot read the image (missing or not a picture)")
        return image
    capture = cv2.VideoCapture(args.video)
    try:
        if not capture.isOpened():
            raise CommandError(f"{args.video}: cannot open the video")
        capture.set(cv2.CAP_PROP_POS_FRAMES, args.frame)
        ok, image = capture.read()
    finally:
        capture.release()
    if not ok:
        raise CommandError(f"{args.video}: no frame {args.frame}")
    return image


def parse_region(text: str, width: int, height: int) -> tuple[float, float, float, float]:
    """Normalised box from ``x1,y1,x2,y2`` given as fractions (all ≤ 1) or as pixels."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise CommandError(f"--region '{text}': expected four numbers x1,y1,x2,y2")
    if max(values) > 1.0:
        values = [values[0] / width, values[1] / height, values[2] / width, values[3] / height]
    x1, y1, x2, y2 = values
    if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
        raise CommandError(f"--region '{text}' is empty or lies outside the {width}x{height} picture")
    return x1, y1, x2, y2


def _calibration(site_path: str | None) -> HeadCalibration:
    if not site_path:
        return HeadCalibration()
    from edge.config import ConfigError, load_site

    try:
        site = load_site(site_path)
    except ConfigError as exc:
        raise CommandError(f"{site_path}: {len(exc.issues)} problem(s); run `crossguard config check`") from None
    vision = [s for s in site.signal.sources if isinstance(s, VisionSourceConfig)]
    if not vision:
        raise CommandError(f"{site_path}: no vision signal source to take the calibration from")
    return vision[0].calibration


def describe(reading: HeadReading) -> list[str]:
    m = reading.measurement
    peaks = ", ".join(f"{hue} ({share:.0%})" for hue, share in m.hue_peaks) or "none"
    state = STEADY_STATE.get(reading.look)
    verdict = f"{reading.look.value} → {state.value if state else 'UNKNOWN'}"
    return [
        f"pixels measured:   {m.pixels}",
        f"red/orange lit:    {m.red:6.1%}",
        f"green lit:         {m.green:6.1%}",
        f"white lit:         {m.white:6.1%}",
        f"clipped (glare):   {m.clipped:6.1%}",
        f"lit in total:      {m.lit:6.1%}",
        f"mean brightness:   {m.mean_value:.0f} of 255",
        f"hue peaks (0..179) of coloured lit pixels: {peaks}",
        f"classification:    {verdict}" + (f"  ({reading.reason})" if reading.reason else ""),
    ]


def run_calibrate(args: argparse.Namespace) -> int:
    image = _load_picture(args)
    height, width = image.shape[:2]
    box = parse_region(args.region, width, height)
    cal = _calibration(args.site)
    region = crop(image, box)
    print(
        f"picture {width}x{height}; region {region.shape[1]}x{region.shape[0]} px; "
        f"as config: region: [{box[0]:.4f}, {box[1]:.4f}, {box[2]:.4f}, {box[3]:.4f}]"
    )
    for line in describe(classify(region, cal)):
        print(line)
    return 0


# --- plan -------------------------------------------------------------------------------------


def run_plan(args: argparse.Namespace) -> int:
    from datetime import datetime

    from edge.config import ConfigError, load_site
    from edge.config.signal import FixedTimeSourceConfig
    from edge.signal.plan import FixedTimePlan, local_time

    try:
        site = load_site(args.site)
    except ConfigError as exc:
        raise CommandError(f"{args.site}: {len(exc.issues)} problem(s); run `crossguard config check`") from None
    plans = [s for s in site.signal.sources if isinstance(s, FixedTimeSourceConfig)]
    plans = [s for s in plans if args.source in (None, s.name)]
    if not plans:
        raise CommandError(
            f"{args.site}: no fixed_time signal source" + (f" named '{args.source}'" if args.source else "")
        )
    plan = FixedTimePlan(plans[0])
    try:
        start = local_time(plan.zone.key, args.start)
    except ValueError:
        raise CommandError(f"--from '{args.start}': expected a local time like 2026-03-08T01:30") from None

    def stamp(utc: float) -> str:
        return datetime.fromtimestamp(utc, plan.zone).isoformat(timespec="milliseconds")

    states = ", ".join(f"{g}={s.value}" for g, s in plan.states_at(start).items())
    print(f"{stamp(start)}  plan {plan.plan_name_at(start)}: {states}")
    for change in plan.changes_between(start, start + args.minutes * 60):
        print(f"{stamp(change.utc)}  plan {change.plan}: {change.group} → {change.state.value}")
    return 0


# --- record -------------------------------------------------------------------------------------


def _broker(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "1883")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise CommandError(f"--broker '{text}': expected host[:port]") from None


def run_record(args: argparse.Namespace) -> int:
    from edge.signal.recording import FeedRecorder

    host, port = _broker(args.broker)
    path = Path(args.output)
    stop = threading.Event()
    os_signal.signal(os_signal.SIGTERM, lambda *_: stop.set())
    try:
        out = path.open("a", encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{path}: cannot write: {exc}") from None
    with out:
        recorder = FeedRecorder(host, port, args.topic, out)
        if not recorder.subscribed.wait(10):
            recorder.stop()
            raise CommandError(f"broker {host}:{port}: could not connect and subscribe to '{args.topic}' in 10 s")
        print(f"recording {args.topic} from {host}:{port} to {path}", flush=True)
        deadline = time.monotonic() + args.duration if args.duration else None
        try:
            while not stop.is_set():
                out_of_time = deadline is not None and time.monotonic() >= deadline
                if out_of_time or (args.count and recorder.count >= args.count):
                    break
                stop.wait(0.05)
        except KeyboardInterrupt:
            pass
        finally:
            recorder.stop()
    print(f"{recorder.count} message(s) recorded to {path}")
    return 0
