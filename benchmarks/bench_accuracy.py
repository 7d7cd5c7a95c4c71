"""Accuracy and speed of every model/setting on every labelled case, side by side.

    .venv/bin/python benchmarks/bench_accuracy.py [--data DIR] [--cases FILE] [--only CASE]
        [--models a.onnx,b.onnx] [--sizes 320,416,640] [--confidence site,catalog]

For each case in sites/eval/cases.yaml and each model in the shared models folder, the
case's own site file is run with only the detector changed, through the same
``run_eval`` as ``crossguard eval``. Printed per row: violation and crossing capture and
valid rates (hits/expected, hits/records), false warnings, MOTA/IDF1/ID switches (cases
with track labels), detector milliseconds per frame and end-to-end frames per second.

Settings: ``--sizes`` is tried on every model; a model whose graph fixes its input size
runs at that size only (the others are reported as skipped). ``--confidence site`` keeps
the site's threshold, ``catalog`` uses the threshold each model was validated at
(models/catalog.py). ``--skip`` varies detection stride and motion gating
(``service.performance``). Speed figures are from whatever machine this runs on; on a shared
VM they move by 2x between runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from detection.base import DetectorError
from detection.registry import build_detector
from edge.config.detector import DetectorConfig
from edge.config.service import PerformanceConfig
from edge.evaluation.cases import DEFAULT_CASES, EvalCase, default_data_dir, load_case_site, load_cases
from edge.evaluation.report import EvalReport, percent
from edge.evaluation.runner import EvalOptions, run_eval
from models.catalog import CATALOG


@dataclass(frozen=True)
class Setting:
    model: Path
    input_size: int | None
    confidence: str  # "site" or "catalog"
    skip: str = "none"  # detection stride / motion gating, a key of SKIPS

    @property
    def label(self) -> str:
        return self.model.stem if self.skip == "none" else f"{self.model.stem}/{self.skip}"

    def detector(self, base: DetectorConfig) -> DetectorConfig:
        update: dict[str, object] = {"model": self.model, "input_size": self.input_size, "family": "auto"}
        if self.confidence == "catalog":
            entry = next((m for m in CATALOG if m.file == self.model.name), None)
            if entry is not None:
                update["confidence"] = entry.confidence
        return base.model_copy(update=update)


SKIPS = {
    "none": PerformanceConfig(),
    "stride2": PerformanceConfig(detect_stride=2),
    "stride3": PerformanceConfig(detect_stride=3),
    "gating": PerformanceConfig(motion_gating=True),
    "stride3+gating": PerformanceConfig(detect_stride=3, motion_gating=True),  # several cameras on one box
}


@dataclass
class Row:
    case: str
    setting: Setting
    size: int
    confidence: float
    report: EvalReport
    detect_ms: float


def settings(
    models: list[Path], sizes: list[int], confidences: list[str], skips: tuple[str, ...] | list[str] = ("none",)
) -> Iterator[Setting | str]:
    """Each model at its own input size, then at every other requested size its graph accepts."""
    for model in models:
        native = _native_size(model)
        for size in [None, *(s for s in sizes if s != native)]:
            if size is not None:
                refusal = _refuses(model, size)
                if refusal:
                    yield f"skipped {model.name} at {size}: {refusal}"
                    continue
            for confidence in confidences:
                for skip in skips:
                    yield Setting(model, size, confidence, skip)


def _native_size(model: Path) -> int | None:
    return getattr(build_detector(DetectorConfig(model=model)), "input_size", None)


def _refuses(model: Path, size: int) -> str | None:
    try:
        build_detector(DetectorConfig(model=model, input_size=size))
    except DetectorError as exc:
        return str(exc).split(": ", 1)[-1]
    return None


def run_rows(case: EvalCase, setting: Setting, data_dir: Path, work: Path) -> list[Row]:
    """The case and each of its timelines (one perception run): one row each."""
    site = load_case_site(case, data_dir)
    config = setting.detector(site.detector)
    detector = build_detector(config)
    service = site.service.model_copy(update={"performance": SKIPS[setting.skip]})
    site = site.model_copy(update={"detector": config, "service": service})
    out = work / f"{case.name}-{setting.model.stem}-{setting.input_size}-{setting.confidence}-{setting.skip}"
    reports = run_eval(site, detector, case.inputs, EvalOptions(out=out, thumbnails=False))
    summary = (out / "replay" / "summary.json").read_text(encoding="utf-8")
    detect_ms = float(json.loads(summary)["stage_ms"]["detect"])
    size = getattr(detector, "input_size", None) or setting.input_size or 0
    return [Row(r.case, setting, int(size), config.confidence, r, detect_ms) for r in reports]


def format_rows(rows: list[Row]) -> str:
    header = (
        f"{'case':<30} {'model':<26} {'size':>4} {'conf':>5} {'viol. capture':>14} {'viol. valid':>12} "
        f"{'cross. capture':>15} {'cross. valid':>13} {'f.warn':>6} {'MOTA':>6} {'IDF1':>6} {'IDsw':>4} "
        f"{'det ms':>7} {'fps':>5}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        r, v, c, t = row.report, row.report.violations, row.report.crossings, row.report.tracking
        lines.append(
            f"{row.case[:30]:<30} {row.setting.label[:26]:<26} {row.size:>4} {row.confidence:>5.2f} "
            f"{percent(v.capture_rate) + f' {v.hits}/{v.expected}':>14} "
            f"{percent(v.valid_rate) + f' {v.hits}/{v.reported}':>12} "
            f"{percent(c.capture_rate) + f' {c.hits}/{c.expected}':>15} "
            f"{percent(c.valid_rate) + f' {c.hits}/{c.reported}':>13} "
            f"{len(r.false_warnings):>6} "
            f"{(f'{t.mota:.3f}' if t else '-'):>6} {(f'{t.idf1:.3f}' if t else '-'):>6} "
            f"{(str(t.id_switches) if t else '-'):>4} {row.detect_ms:>7.1f} {r.fps:>5.1f}"
        )
    return "\n".join(lines)


def totals(rows: list[Row]) -> str:
    """Pooled over cases per setting: the figure to choose a default by."""
    by_setting: dict[tuple[str, int, str], list[Row]] = {}
    for row in rows:
        by_setting.setdefault((row.setting.label, row.size, row.setting.confidence), []).append(row)
    lines = [
        f"{'all cases':<30} {'model':<26} {'size':>4} {'conf':>7} {'viol. capture':>14} {'viol. valid':>12} "
        f"{'cross. capture':>15} {'cross. valid':>13} {'f.warn':>6}"
    ]
    for (model, size, conf), group in by_setting.items():
        vh = sum(r.report.violations.hits for r in group)
        ve = sum(r.report.violations.expected for r in group)
        vr = sum(r.report.violations.reported for r in group)
        ch = sum(r.report.crossings.hits for r in group)
        ce = sum(r.report.crossings.expected for r in group)
        cr = sum(r.report.crossings.reported for r in group)
        warn = sum(len(r.report.false_warnings) for r in group)
        lines.append(
            f"{'':<30} {model[:26]:<26} {size:>4} {conf:>7} "
            f"{_pooled(vh, ve):>14} {_pooled(vh, vr):>12} {_pooled(ch, ce):>15} {_pooled(ch, cr):>13} {warn:>6}"
        )
    return "\n".join(lines)


def _pooled(hits: int, total: int) -> str:
    return f"{percent(hits / total if total else None)} {hits}/{total}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="shared data folder")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--only", action="append", default=[], help="run only this case (repeatable)")
    parser.add_argument("--models", help="comma-separated model file names (default: every *.onnx)")
    parser.add_argument("--sizes", default="", help="comma-separated input sizes to try (default: each model's own)")
    parser.add_argument("--confidence", default="site,catalog", help="site and/or catalog")
    parser.add_argument("--skip", default="none", help=f"detection stride / motion gating settings: {', '.join(SKIPS)}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    data_dir = args.data or default_data_dir()
    models = sorted((data_dir / "models").glob("*.onnx"))
    if args.models:
        models = [data_dir / "models" / name for name in args.models.split(",")]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cases = [c for c in load_cases(args.cases, data_dir) if not args.only or c.name in args.only]
    unknown = [k for k in args.skip.split(",") if k not in SKIPS]
    if unknown:
        parser.error(f"--skip: unknown setting(s) {', '.join(unknown)}; choose from {', '.join(SKIPS)}")
    plan = list(settings(models, sizes, args.confidence.split(","), args.skip.split(",")))
    for note in (p for p in plan if isinstance(p, str)):
        print(note)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as work:
        for case in cases:
            for setting in (p for p in plan if isinstance(p, Setting)):
                for row in run_rows(case, setting, data_dir, Path(work)):
                    rows.append(row)
                    print(format_rows([row]).splitlines()[-1], flush=True)
    print()
    print(format_rows(rows))
    print()
    print(totals(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
