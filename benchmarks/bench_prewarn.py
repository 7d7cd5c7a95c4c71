"""Pre-warnings on the labelled cases: how many violations a warning preceded, how early, and how many were for nothing.

Replays every case of ``sites/eval/cases.yaml`` (its own detector and tracker) under DON'T WALK
throughout (the case's ``dont-walk`` timeline, else its own signal) with pre-warnings on, and
prints per case and in total:

- violations the pipeline recorded, and how many a pre-warning series for the same person at
  the same crosswalk started before their entry; the lead time (entry - first prompt);
- pre-warning series that no crossing by that person followed within ``--follow-s`` (they
  waited, stepped back or walked along the curb): false pre-warnings, also per hour of video.

    .venv/bin/python benchmarks/bench_prewarn.py [--case NAME ...] [--max-frames N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from detection.registry import build_detector
from edge.config import load_site
from edge.evaluation.cases import load_cases
from edge.replay import ReplayOptions, run_replay


def measure(events: list[dict], follow_s: float) -> dict[str, object]:
    series: dict[tuple[str, int, float], float] = {}  # (crosswalk, track, series start) → first prompt t
    for e in events:
        if e["type"] == "pre_warning":
            series.setdefault((e["crosswalk_id"], e["track_id"], e["entry_t"]), e["entry_t"])
    violations = [e for e in events if e["type"] == "violation"]
    crossings = [e for e in events if e["type"] == "crossing"]
    leads = []
    for v in violations:
        starts = [t for (cw, track, t) in series if cw == v["crosswalk_id"] and track == v["track_id"]]
        starts = [t for t in starts if t <= v["entry_t"]]
        if starts:
            leads.append(v["entry_t"] - min(starts))
    false = [
        key for key in series
        if not any(c["crosswalk_id"] == key[0] and c["track_id"] == key[1] and 0 <= c["entry_t"] - key[2] <= follow_s
                   for c in crossings)
    ]  # fmt: skip
    return {"violations": len(violations), "preceded": len(leads), "leads": leads, "series": len(series),
            "false": len(false)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="sites/eval/cases.yaml")
    parser.add_argument("--case", action="append", help="only these cases")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--follow-s", type=float, default=8.0, help="a crossing this soon after a series follows it")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override an actuators.prewarn setting, e.g. --set approach_speed=0.1")  # fmt: skip
    args = parser.parse_args()
    overrides = {"enabled": True, **{k: float(v) for k, v in (item.split("=", 1) for item in args.set)}}
    totals = {"violations": 0, "preceded": 0, "series": 0, "false": 0, "hours": 0.0}
    leads: list[float] = []
    for case in load_cases(args.cases):
        if args.case and case.name not in args.case:
            continue
        inputs = case.inputs
        signal = next((t.signal for t in inputs.timelines if t.name == "dont-walk"), inputs.signal)
        site = load_site(case.site_path)
        prewarn = site.actuators.prewarn.model_validate({**site.actuators.prewarn.model_dump(), **overrides})
        site = site.model_copy(update={"actuators": site.actuators.model_copy(update={"prewarn": prewarn})})
        limits = [n for n in (inputs.max_frames, args.max_frames) if n]
        with tempfile.TemporaryDirectory() as out:
            frames = min(limits) if limits else None
            options = ReplayOptions(video=inputs.video, out=Path(out), signal=signal, start_time=inputs.start_time,
                                    progress=False, max_frames=frames, evidence=False)  # fmt: skip
            summary = run_replay(site, build_detector(site.detector), options)
            lines = (Path(out) / "events.jsonl").read_text(encoding="utf-8").splitlines()
        figures = measure([json.loads(line) for line in lines], args.follow_s)
        hours = summary.duration_s / 3600
        print(f"{case.name:22s} {summary.duration_s:6.1f} s  violations {figures['violations']:3d}  "
              f"preceded {figures['preceded']:3d}  series {figures['series']:3d}  false {figures['false']:3d}  "
              f"leads {[round(x, 2) for x in figures['leads']]}", flush=True)  # fmt: skip
        for key in ("violations", "preceded", "series", "false"):
            totals[key] += figures[key]  # type: ignore[operator]
        totals["hours"] += hours
        leads += figures["leads"]  # type: ignore[arg-type]
    share = totals["preceded"] / totals["violations"] if totals["violations"] else float("nan")
    lead = f"lead p50 {np.median(leads):.2f} s, min {min(leads):.2f} s, max {max(leads):.2f} s" if leads else "no lead"
    print(f"TOTAL {totals['hours'] * 3600:.0f} s of video: {totals['preceded']}/{totals['violations']} violations "
          f"preceded by a pre-warning ({share:.0%}); {lead}; {totals['series']} series, {totals['false']} false "
          f"({totals['false'] / totals['hours']:.0f} per hour of video)")  # fmt: skip


if __name__ == "__main__":
    main()
