"""A self-contained bundle of one event: files, manifest, signature, public key and how to check them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from evidence.index import EvidenceIndex
from evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME
from evidence.signing import fingerprint, load_public_bytes
from evidence.storage import INDEX_FILE, adopt_atomic

PUBLIC_KEY_NAME = "device_public_key.pem"
SUMS_NAME = "SHA256SUMS"

VERIFY_SCRIPT = """\
# Checks this bundle: the Ed25519 signature over manifest.json, then every file's SHA-256.
import hashlib
import json
import pathlib
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

here = pathlib.Path(__file__).resolve().parent
key = load_pem_public_key((here / "device_public_key.pem").read_bytes())
data = (here / "manifest.json").read_bytes()
try:
    key.verify((here / "manifest.sig").read_bytes(), data)
except InvalidSignature:
    sys.exit("manifest.json: signature INVALID")
bad = 0
for f in json.loads(data)["files"]:
    p = here / f["path"]
    if not p.exists():
        print(f"{f['path']}: not in bundle (deleted by retention)")
    elif hashlib.sha256(p.read_bytes()).hexdigest() != f["sha256"]:
        print(f"{f['path']}: SHA-256 MISMATCH")
        bad += 1
    else:
        print(f"{f['path']}: OK")
sys.exit(f"{bad} file(s) altered" if bad else 0)
"""

README = """Evidence bundle for event {event_id}
=====================================================================

Contents
  manifest.json          what was recorded: event, site, device, software, model, clock,
                         signal history and the SHA-256 of every file
  manifest.sig           Ed25519 signature (64 raw bytes) over the exact bytes of manifest.json
  device_public_key.pem  the recording device's public key (SHA-256 of the raw key:
                         {fingerprint})
  SHA256SUMS             the file hashes from manifest.json, in sha256sum format
  verify_bundle.py       the same two checks in Python
  originals/, closeup.jpg, sheet.jpg, clip.*   the evidence itself
{purged}
1. Check the signature (OpenSSL 3):

     openssl pkeyutl -verify -pubin -inkey device_public_key.pem -rawin \\
         -in manifest.json -sigfile manifest.sig

   It prints "Signature Verified Successfully". Compare the public key with the one the
   operator publishes for device {device_id}.

2. Check every file against the signed manifest:

     sha256sum -c SHA256SUMS

   SHA256SUMS is a convenience copy; the authoritative hashes are the "files" entries
   of manifest.json, which step 1 proved unaltered.

Or with Python 3 and the "cryptography" package, from inside this folder:

     python3 verify_bundle.py

Manifest {sequence} of the device's chain; its previous manifest had SHA-256
{previous}.
"""


class ExportError(Exception):
    pass


def export_event(
    root: Path, event_id: str, out: Path, public_key_pem: bytes, actor: str = "cli"
) -> list[str]:
    """Write the bundle to ``out`` (atomically) and log the export; returns the names in the zip."""
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        row = index.event(event_id)
        if row is None:
            raise ExportError(f"event {event_id} is not in the index at {root / INDEX_FILE}")
        folder = root / row.folder
        manifest_path = folder / MANIFEST_NAME
        if not manifest_path.is_file():
            raise ExportError(f"{manifest_path}: manifest is missing")
        manifest = json.loads(manifest_path.read_bytes())
        present = [f for f in manifest["files"] if (folder / f["path"]).is_file()]
        purged = [f["path"] for f in manifest["files"] if not (folder / f["path"]).is_file()]
        names = _write_zip(out, folder, manifest, present, purged, public_key_pem)
        index.mark_exported(event_id, actor, f"bundle {out.name}")
        return names
    finally:
        index.close()


def _write_zip(
    out: Path, folder: Path, manifest: dict, present: list[dict], purged: list[str], public_key_pem: bytes
) -> list[str]:
    tmp = out.with_name(f".{out.name}.part")
    prefix = manifest["event"]["event_id"] + "/"
    note = "" if not purged else "\n  Deleted by retention before export: " + ", ".join(purged) + "\n"
    readme = README.format(
        event_id=manifest["event"]["event_id"],
        device_id=manifest["site"]["device_id"],
        fingerprint=fingerprint(load_public_bytes(public_key_pem)),
        purged=note,
        sequence=manifest["sequence"],
        previous=manifest["previous_manifest_sha256"],
    )
    sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in present)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:  # JPEG/MP4 do not compress
        for name in (MANIFEST_NAME, SIGNATURE_NAME):
            zf.write(folder / name, prefix + name)
        for f in present:
            zf.write(folder / f["path"], prefix + f["path"])
        zf.writestr(prefix + PUBLIC_KEY_NAME, public_key_pem)
        zf.writestr(prefix + SUMS_NAME, sums)
        zf.writestr(prefix + "README.txt", readme)
        zf.writestr(prefix + "verify_bundle.py", VERIFY_SCRIPT)
        names = zf.namelist()
    adopt_atomic(tmp, out)
    return names
