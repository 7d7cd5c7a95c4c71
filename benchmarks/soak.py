"""Soak run: ``crossguard run`` on the looped clip at its real frame rate, printing RSS over time.

Memory must stay flat over hours: every buffer and queue is capped, tracks are forgotten,
signal history is trimmed. This starts the service as a child process, samples its
resident memory (``/proc/PID/status``) and its own /status, prints one line per sample and
writes the samples as JSON. Stop early with Ctrl-C; the service is stopped with SIGTERM.

    .venv/bin/python benchmarks/soak.py --minutes 60 --every 30
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]


def shared(relative: str) -> Path:
    return Path(os.environ.get("CROSSGUARD_SHARED_DATA", REPO.parent / "shared" / "data")) / relative


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def service_status(port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return {}


def looped_site(site: Path, video: Path, model: Path, folder: Path, port: int) -> Path:
    """``site`` rewritten into ``folder`` for a run on ``video`` looped at its real frame rate, as
    from a camera, with evidence on and everything the service writes kept in ``folder``."""
    yaml = YAML(typ="safe")
    data = yaml.load(site.read_text(encoding="utf-8"))
    data["camera"]["source"] = str(video)
    data["detector"]["model"] = str(model if model.is_file() else shared(str(model)))
    for source in data.get("signal", {}).get("sources", []):
        if "path" in source and not Path(source["path"]).is_absolute():
            source["path"] = str((site.parent / source["path"]).resolve())
    data["evidence"] = {"root": str(folder / "evidence")}
    data["web"] = {"users_db": str(folder / "users.db"), "port": 0}  # the UI on any free port
    data["service"] = {
        "data_dir": str(folder / "state"),
        "status_interval_s": 60,
        "capture": {"realtime": True, "loop": True},
        "http": {"port": port},
    }
    path = folder / "site.yaml"
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=REPO / "sites" / "demo" / "site.yaml")
    parser.add_argument("--video", type=Path, default=shared("video/crosswalk_elevated_fixed.mp4"))
    parser.add_argument("--model", type=Path, default=Path("models/yolo11n_int8_320.onnx"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--json", type=Path, default=Path("soak.json"))
    args = parser.parse_args()

    port = free_port()
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        site = looped_site(args.site, args.video, args.model, Path(tmp), port)
        cmd = [sys.executable, "-m", "edge.cli", "run", "--site", str(site)]
        proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        print(f"{'minute':>7} {'RSS MB':>8} {'frames':>8} {'dropped':>8} {'fps':>6} {'violations':>10}")
        try:
            while time.monotonic() - started < args.minutes * 60 and proc.poll() is None:
                time.sleep(args.every)
                status = service_status(port)
                sample = {
                    "minute": round((time.monotonic() - started) / 60, 2),
                    "rss_mb": round(rss_mb(proc.pid) or 0.0, 1),
                    "frames": status.get("frames_processed", 0),
                    "dropped": status.get("frames_dropped", 0),
                    "fps": status.get("fps", 0.0),
                    "violations": status.get("violations", 0),
                }
                samples.append(sample)
                print(
                    f"{sample['minute']:>7.2f} {sample['rss_mb']:>8.1f} {sample['frames']:>8} "
                    f"{sample['dropped']:>8} {sample['fps']:>6.1f} {sample['violations']:>10}",
                    flush=True,
                )
        except KeyboardInterrupt:
            pass
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    if len(samples) >= 2:
        settled = samples[len(samples) // 4 :]  # after start-up allocations
        growth = settled[-1]["rss_mb"] - settled[0]["rss_mb"]
        print(f"RSS after warm-up: {settled[0]['rss_mb']:.1f} → {settled[-1]['rss_mb']:.1f} MB ({growth:+.1f} MB)")
    args.json.write_text(json.dumps(samples, indent=2) + "\n", encoding="utf-8")
    print(f"samples written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
