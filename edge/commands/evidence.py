"""``crossguard evidence verify|export|pubkey``: check, hand over and identify stored evidence."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.cli import CommandError
from edge.config.evidence import EvidenceConfig


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("evidence", help="verify, export and identify stored evidence")
    actions = parser.add_subparsers(dest="evidence_command", required=True, metavar="ACTION")

    verify = actions.add_parser("verify", help="check hashes, signatures and the manifest chain")
    verify.add_argument("event", nargs="?", help="event id (default with --all: every event)")
    verify.add_argument("--all", action="store_true", help="verify every event and the whole chain")
    _location_args(verify)
    verify.set_defaults(func=run_verify)

    export = actions.add_parser("export", help="write a self-contained, verifiable bundle of one event")
    export.add_argument("event", help="event id")
    export.add_argument("-o", "--output", required=True, type=Path, help="bundle file to write (.zip)")
    export.add_argument("--actor", default="cli", help="who exports, recorded in the audit log")
    _location_args(export)
    export.set_defaults(func=run_export)

    pubkey = actions.add_parser("pubkey", help="print (or write) the device's public key, PEM")
    pubkey.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    _location_args(pubkey)
    pubkey.set_defaults(func=run_pubkey)


def _location_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--root", type=Path, help=f"evidence root folder (default {EvidenceConfig().root})")
    group.add_argument("--site", type=Path, help="site file; its evidence section names the root and key")
    parser.add_argument("--pubkey", type=Path, help="public key PEM (default: the device key under the root)")


def _evidence_config(args: argparse.Namespace) -> EvidenceConfig:
    if args.site is not None:
        from edge.config import ConfigError, load_site

        try:
            return load_site(args.site).evidence
        except ConfigError as exc:
            raise CommandError(f"{args.site}: invalid site file: {exc.issues[0]}") from None
    root = args.root or EvidenceConfig().root
    if not root.is_dir():
        raise CommandError(f"{root}: no such evidence folder")
    return EvidenceConfig(root=root)


def _public_pem(args: argparse.Namespace, cfg: EvidenceConfig) -> bytes:
    from evidence import signing

    path = args.pubkey or signing.public_path(cfg.private_key_path())
    if not path.is_file():
        raise CommandError(f"{path}: public key not found (the recorder creates it on first start)")
    try:
        return signing.public_pem(signing.load_public(path))
    except signing.DeviceKeyError as exc:
        raise CommandError(str(exc)) from None


def _require_index(cfg: EvidenceConfig) -> None:
    from evidence.storage import INDEX_FILE

    if not (cfg.root / INDEX_FILE).is_file():
        raise CommandError(f"{cfg.root / INDEX_FILE}: no evidence index here")


def run_verify(args: argparse.Namespace) -> int:
    from evidence import signing
    from evidence.verify import Verifier

    if bool(args.event) == bool(args.all):
        raise CommandError("name one EVENT or give --all")
    cfg = _evidence_config(args)
    _require_index(cfg)
    verifier = Verifier(cfg.root, signing.load_public_bytes(_public_pem(args, cfg)))
    try:
        report = verifier.verify_all() if args.all else verifier.verify_event(args.event)
    finally:
        verifier.close()
    for problem in report.problems:
        print(problem)
    summary = f"{report.events} event(s), {report.files} file(s) checked"
    summary += f", {report.purged} deleted by retention"
    if report.ok:
        print(f"OK: {summary}")
        return 0
    print(f"FAILED: {len(report.problems)} problem(s); {summary}", file=sys.stderr)
    return 1


def run_export(args: argparse.Namespace) -> int:
    from evidence.export import ExportError, export_event

    cfg = _evidence_config(args)
    _require_index(cfg)
    try:
        names = export_event(cfg.root, args.event, args.output, _public_pem(args, cfg), actor=args.actor)
    except ExportError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{args.output}: cannot write bundle: {exc}") from None
    print(f"{args.output}: {len(names)} entries for event {args.event}")
    return 0


def run_pubkey(args: argparse.Namespace) -> int:
    cfg = _evidence_config(args)
    pem = _public_pem(args, cfg)
    if args.output is None:
        sys.stdout.write(pem.decode())
    else:
        args.output.write_bytes(pem)
        print(f"{args.output}: public key written")
    return 0
