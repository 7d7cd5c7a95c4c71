"""``crossguard evidence`` end to end, and the exported bundle checked with openssl and sha256sum."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge import cli
from evidence import signing
from evidence.index import EvidenceIndex
from evidence.manifest import sha256_hex
from evidence.storage import INDEX_FILE


@pytest.fixture(autouse=True)
def _evidence_command_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other subcommands are not needed here; loading only ours keeps these tests about evidence.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["edge.commands.config", "edge.commands.evidence"])


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["evidence", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _event_ids(root: Path) -> list[str]:
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        return [r.event_id for r in index.events()]
    finally:
        index.close()


def test_verify_all_ok_then_names_a_tampered_file(
    recorded_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "verify", "--all", "--root", str(recorded_copy))
    assert code == 0 and out.strip() == "OK: 3 event(s), 18 file(s) checked, 0 deleted by retention"
    event_id = _event_ids(recorded_copy)[0]
    sheet = next(recorded_copy.glob(f"*/*/*/{event_id}/sheet.jpg"))
    sheet.write_bytes(sheet.read_bytes()[:-1] + b"\x00")
    code, out, err = _run(capsys, "verify", event_id, "--root", str(recorded_copy))
    assert code == 1 and "FAILED: 1 problem(s)" in err
    assert out.startswith(f"[file-modified] event {event_id} ") and "sheet.jpg: SHA-256 is" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--root", "{root}"], "name one EVENT or give --all"),
        (["verify", "--all", "--root", "{root}/nowhere"], "no such evidence folder"),
        (
            ["export", "no-such-event", "-o", "{root}/b.zip", "--root", "{root}"],
            "event no-such-event is not in",
        ),
        (["pubkey", "--root", "{root}", "--pubkey", "{root}/missing.pem"], "public key not found"),
    ],
)
def test_expected_failures_are_one_line(
    recorded_copy: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = _run(capsys, *[a.format(root=recorded_copy) for a in argv])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_pubkey_prints_the_device_key(recorded_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "pubkey", "--root", str(recorded_copy))
    assert code == 0 and out == (recorded_copy / "keys" / "device_ed25519.pub.pem").read_text()
    assert out.startswith("-----BEGIN PUBLIC KEY-----")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_export_bundle_verifies_with_standard_tools(
    recorded_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event_id = _event_ids(recorded_copy)[1]
    bundle = tmp_path / "bundle.zip"
    code, out, _ = _run(
        capsys, "export", event_id, "-o", str(bundle), "--root", str(recorded_copy), "--actor", "ofc7"
    )
    assert code == 0 and f"for event {event_id}" in out
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path / "x")
    folder = tmp_path / "x" / event_id
    assert {
        "README.txt",
        "manifest.json",
        "manifest.sig",
        "device_public_key.pem",
        "SHA256SUMS",
        "sheet.jpg",
    } <= {p.name for p in folder.iterdir()}
    openssl = [
        "openssl",
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "device_public_key.pem",
        "-rawin",
        "-in",
        "manifest.json",
        "-sigfile",
        "manifest.sig",
    ]
    done = subprocess.run(openssl, cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)
    assert sums.returncode == 0 and sums.stdout.count(": OK") == 6
    script = subprocess.run(["python3", "verify_bundle.py"], cwd=folder, capture_output=True, text=True)
    assert script.returncode in (0, 1)  # 1 only when the system python lacks "cryptography"
    if script.returncode == 0:
        assert script.stdout.count(": OK") == 6
    (folder / "manifest.json").write_bytes(
        (folder / "manifest.json").read_bytes().replace(b"edge-0042", b"edge-0043")
    )
    assert subprocess.run(openssl, cwd=folder, capture_output=True).returncode != 0
    index = EvidenceIndex(recorded_copy / INDEX_FILE)
    try:
        assert index.event(event_id).exported_utc is not None
        assert (
            index.audit(event_id)[-1]["action"] == "exported" and index.audit(event_id)[-1]["actor"] == "ofc7"
        )
    finally:
        index.close()


def _resign_with_a_new_key(root: Path) -> None:
    """A forgery by someone who can rewrite the folder: the last event's manifest changed, every manifest
    re-signed with a fresh key, the index updated to match, and the key beside the evidence replaced."""
    key = Ed25519PrivateKey.generate()
    index = EvidenceIndex(root / INDEX_FILE)
    last = index.events()[-1]
    index.close()
    manifest = root / last.folder / "manifest.json"
    forged = manifest.read_bytes().replace(b'"signal_state": "DONT_WALK"', b'"signal_state": "WALK"')
    assert forged != manifest.read_bytes()
    manifest.write_bytes(forged)
    with closing(sqlite3.connect(root / INDEX_FILE, isolation_level=None)) as db:
        db.execute("DROP TRIGGER events_fixed_columns")
        db.execute("UPDATE events SET manifest_sha256=? WHERE event_id=?", [sha256_hex(forged), last.event_id])
    for path in root.glob("*/*/*/*/manifest.json"):
        (path.parent / "manifest.sig").write_bytes(key.sign(path.read_bytes()))
    (root / "keys" / "device_ed25519.pub.pem").write_bytes(signing.public_pem(key.public_key()))


def test_folder_key_is_warned_about_and_a_pinned_key_catches_a_resigned_forgery(
    recorded_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pinned = tmp_path / "pinned.pem"  # recorded at deployment, kept off the box
    pinned.write_bytes((recorded_copy / "keys" / "device_ed25519.pub.pem").read_bytes())
    _resign_with_a_new_key(recorded_copy)

    code, out, err = _run(capsys, "verify", "--all", "--root", str(recorded_copy))
    assert code == 0 and out.startswith("OK: 3 event(s)")  # the forgery passes with the folder's own key...
    assert err.startswith("warning: verifying with the public key stored on the box") and "--pubkey" in err

    code, out, err = _run(capsys, "verify", "--all", "--root", str(recorded_copy), "--pubkey", str(pinned))
    assert code == 1 and "warning" not in err  # ...and fails against the pinned one
    assert out.count("[signature-invalid]") == 3


def test_zero_byte_index_is_reported_not_rewritten(recorded_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = recorded_copy / INDEX_FILE
    index.write_bytes(b"")
    stamp, names = index.stat().st_mtime_ns, sorted(p.name for p in recorded_copy.iterdir())
    code, out, err = _run(capsys, "verify", "--all", "--root", str(recorded_copy))
    assert code == 1 and "FAILED: 4 problem(s)" in err and "Traceback" not in out + err
    assert out.startswith(f"[index-damaged] {INDEX_FILE}: {index}: table(s) events, files, audit missing")
    assert out.count("[event-unindexed]") == 3
    assert index.read_bytes() == b"" and index.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in recorded_copy.iterdir()) == names  # no -wal, no -shm


def test_expect_head_catches_a_deleted_last_event(recorded_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = EvidenceIndex(recorded_copy / INDEX_FILE)
    last = index.events()[-1]
    index.close()
    head = f"{last.seq}:{last.manifest_sha256}"
    code, out, _ = _run(capsys, "verify", "--all", "--root", str(recorded_copy), "--expect-head", head)
    assert code == 0 and out.strip().endswith("0 deleted by retention, chain head 3 anchored")
    shutil.rmtree(recorded_copy / last.folder)
    with closing(sqlite3.connect(recorded_copy / INDEX_FILE, isolation_level=None)) as db:
        db.executescript(
            "DROP TRIGGER events_no_delete; DROP TRIGGER audit_no_delete;"
            f" DELETE FROM files WHERE event_id='{last.event_id}'; DELETE FROM audit WHERE event_id='{last.event_id}';"
            f" DELETE FROM events WHERE event_id='{last.event_id}';"
        )
    assert _run(capsys, "verify", "--all", "--root", str(recorded_copy))[0] == 0  # unanchored: unseen
    code, out, _ = _run(capsys, "verify", "--all", "--root", str(recorded_copy), "--expect-head", head)
    assert code == 1 and out.startswith("[event-missing] sequence number(s) 3 after the last indexed event")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--expect-head", "3"], "--expect-head: chain head '3' is not SEQ:SHA256"),
        (["--center-db", "{root}/center.db", "--box", "site-a/cam1"], "no such centre database"),
        (["--center-db", "{root}/index.sqlite"], "--center-db needs the box: give --box SITE/CAMERA or --site"),
        (["--center-db", "{root}/index.sqlite", "--box", "site-a"], "--box 'site-a' is not SITE/CAMERA"),
        (["--center-db", "{root}/index.sqlite", "--box", "site-a/cam1"], "no evidence chain head recorded for"),
    ],
)
def test_bad_anchor_arguments_are_one_line(
    recorded_copy: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    args = [a.format(root=recorded_copy) for a in argv]
    code, _, err = _run(capsys, "verify", "--all", "--root", str(recorded_copy), "--pubkey", "/dev/null", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
