"""``crossguard models list|download|verify|export``: the model catalog and its tooling."""

from __future__ import annotations

import argparse
from pathlib import Path

from detection.base import DetectorError
from edge.cli import CommandError
from models.catalog import CATALOG, find_model
from models.download import DownloadError, FileStatus, download_model, verify

DEFAULT_DIR = Path("models/weights")  # git-ignored; sites may point detector.model anywhere


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, verify and export models")
    actions = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="known models and whether they are present")
    listing.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder holding model files")
    listing.set_defaults(func=run_list)

    fetch = actions.add_parser("download", help="download catalog models, checking SHA-256")
    fetch.add_argument("names", nargs="*", help="model names or files (default: all)")
    fetch.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="destination folder")
    fetch.add_argument("--mirror", help="base URL serving the files by name, instead of their origin")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=run_download)

    check = actions.add_parser("verify", help="check model files against the catalog's SHA-256")
    check.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder holding model files")
    check.add_argument("names", nargs="*", help="model names or files (default: all)")
    check.set_defaults(func=run_verify)

    export = actions.add_parser("export", help="export an Ultralytics .pt/.yaml (needs the ultralytics extra)")
    export.add_argument("weights", help=".pt checkpoint, or a .yaml model definition")
    export.add_argument("--format", default="onnx", help="onnx (default), openvino, torchscript, ncnn, tflite")
    export.add_argument("--imgsz", type=int, default=640, help="square input size")
    export.add_argument("--opset", type=int, help="ONNX opset (default: Ultralytics' choice)")
    export.add_argument("--int8", action="store_true", help="int8 quantisation where the format supports it")
    export.add_argument("--out", type=Path, default=DEFAULT_DIR, help="destination folder")
    export.set_defaults(func=run_export)


def _entries(names: list[str]) -> list:
    try:
        return [find_model(n) for n in names] if names else list(CATALOG)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from None


def run_list(args: argparse.Namespace) -> int:
    print(f"{'name':<16} {'file':<24} {'family':<11} {'input':>5} {'conf':>5}  present  licence")
    for entry in CATALOG:
        present = "yes" if (args.dir / entry.file).is_file() else "no"
        print(
            f"{entry.name:<16} {entry.file:<24} {entry.family:<11} {entry.input_size:>5} "
            f"{entry.confidence:>5.2f}  {present:<7}  {entry.licence}"
        )
    return 0


def run_download(args: argparse.Namespace) -> int:
    for entry in _entries(args.names):
        try:
            path = download_model(entry, args.dir, mirror=args.mirror, progress=not args.quiet)
        except (DownloadError, OSError) as exc:
            raise CommandError(str(exc)) from None
        print(f"{path}: OK ({entry.sha256[:12]})")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    failures = 0
    for entry in _entries(args.names):
        result = verify(entry, args.dir / entry.file)
        print(f"{result.path}: {result.status.value}")
        failures += result.status is not FileStatus.OK
    return 1 if failures else 0


def run_export(args: argparse.Namespace) -> int:
    from models.export import ExportError, ExportOptions, export_model  # imports the heavy extra lazily

    options = ExportOptions(format=args.format, imgsz=args.imgsz, opset=args.opset, int8=args.int8)
    try:
        path = export_model(args.weights, args.out, options)
    except (ExportError, DetectorError) as exc:
        raise CommandError(str(exc)) from None
    print(f"{path}: exported ({args.format}, {args.imgsz}x{args.imgsz})")
    return 0
