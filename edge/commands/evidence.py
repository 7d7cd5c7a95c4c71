"""``crossguard evidence verify|export|pubkey``: check, hand over and identify stored evidence."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge.cli import CommandError
from edge.config.evidence import EvidenceConfig

if TYPE_CHECKING:
    from edge.mqtt.payloads import ChainHead


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("evidence", help="verify, export and identify stored evidence")
    actions = parser.add_subparsers(dest="evidence_command", required=True, metavar="ACTION")

    verify = actions.add_parser("verify", help="check hashes, signatures and the manifest chain")
    verify.add_argument("event", nargs="?", help="event id (default with --all: every event)")
    verify.add_argument("--all", action="store_true", help="verify every event and the whole chain")
    _location_args(verify)
    anchor = verify.add_mutually_exclusive_group()
    anchor.add_argument(
        "--expect-head", metavar="SEQ:SHA256", help="the chain head known outside the box (catches a deleted tail)"
    )
    anchor.add_argument(
        "--center-db", type=Path, help="traffic-centre database: take the box's chain head from it (read-only)"
    )
    verify.add_argument("--box", metavar="SITE/CAMERA", help="the box in --center-db (default: from --site)")
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
    parser.add_argument(
        "--pubkey", type=Path, help="public key PEM recorded at deployment (default: the key stored on the box)"
    )


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


def _public_key_path(args: argparse.Namespace, cfg: EvidenceConfig) -> Path:
    from evidence import signing

    return args.pubkey or signing.public_path(cfg.private_key_path())


def _public_pem(args: argparse.Namespace, cfg: EvidenceConfig) -> bytes:
    from evidence import signing

    path = _public_key_path(args, cfg)
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
    if (args.expect_head or args.center_db) and not args.all:
        raise CommandError("--expect-head and --center-db check the whole chain: give --all")
    head = _expected_head(args)
    _warn_unpinned_key(args, cfg)
    verifier = Verifier(cfg.root, signing.load_public_bytes(_public_pem(args, cfg)), head)
    try:
        report = verifier.verify_all() if args.all else verifier.verify_event(args.event)
    finally:
        verifier.close()
    for problem in report.problems:
        print(problem)
    summary = f"{report.events} event(s), {report.files} file(s) checked"
    summary += f", {report.purged} deleted by retention"
    if head is not None:
        summary += f", chain head {head.seq} anchored"
    if report.ok:
        print(f"OK: {summary}")
        return 0
    print(f"FAILED: {len(report.problems)} problem(s); {summary}", file=sys.stderr)
    return 1


def _warn_unpinned_key(args: argparse.Namespace, cfg: EvidenceConfig) -> None:
    """Whoever can rewrite the folder can re-sign it with a new key and replace the key beside it."""
    path = _public_key_path(args, cfg).resolve()
    if args.pubkey is None or path.is_relative_to(cfg.root.resolve()):
        print(
            f"warning: verifying with the public key stored on the box ({path}); a folder re-signed with"
            " another key would pass. Pin the key recorded at deployment with --pubkey.",
            file=sys.stderr,
        )


def _expected_head(args: argparse.Namespace) -> ChainHead | None:
    """The chain head anchored outside the folder: given as SEQ:SHA256, or kept by the traffic centre."""
    from edge.mqtt.payloads import ChainHead

    if args.expect_head is not None:
        try:
            return ChainHead.parse(args.expect_head)
        except ValueError as exc:
            raise CommandError(f"--expect-head: {exc}") from None
    if args.center_db is None:
        return None
    site, camera = _box(args)
    head = _center_head(args.center_db, site, camera)
    if head is None:
        raise CommandError(f"{args.center_db}: no evidence chain head recorded for box {site}/{camera}")
    print(f"chain head of {site}/{camera} at the centre: {head}")
    return head


def _box(args: argparse.Namespace) -> tuple[str, str]:
    if args.box is not None:
        site, _, camera = args.box.partition("/")
        if not site or not camera or "/" in camera:
            raise CommandError(f"--box '{args.box}' is not SITE/CAMERA")
        return site, camera
    if args.site is None:
        raise CommandError("--center-db needs the box: give --box SITE/CAMERA or --site")
    from edge.config import load_site

    site = load_site(args.site)  # already loaded once for the evidence section, so it is valid
    return site.site.id, site.camera_configs()[0].id  # the box reports as its first camera


def _center_head(path: Path, site: str, camera: str) -> ChainHead | None:
    import sqlite3

    from edge.mqtt.payloads import ChainHead
    from edge.mqtt.store import read_chain_head
    from evidence.index import connect_read_only

    if not path.is_file():
        raise CommandError(f"{path}: no such centre database")
    try:
        db, temp = connect_read_only(path)
        try:
            found = read_chain_head(db, site, camera)
        finally:
            db.close()
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"{path}: cannot read the centre database: {exc}") from None
    return ChainHead(*found) if found is not None else None


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
