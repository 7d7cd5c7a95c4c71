"""Cameras per box: N live cameras in one service, against N services and an ultralytics peer.

Each camera is a copy of a clip looped at its real frame rate (``capture.realtime``), as from a
live camera: its capture thread keeps only the newest frame, so a box that cannot keep up drops
stale frames, and the figures say how many, per camera. For N = 1..``--max-cameras``:

* **one service** — ``crossguard run`` on a site with N cameras (each watching its own copy of
  the site's crosswalks), evidence and web UI on: frames processed against captured and stale
  drops per camera (its final status.json), and the process's peak RSS;
* **N services** — N ``crossguard run`` processes at once, one camera each: total frames per
  second and total peak RSS;
* **ultralytics** — one process with a ``model.track()`` loop per camera (one YOLO object and
  tracker each, taking the newest frame of each camera in turn), same model file.

Full rate means at least 97 % of the captured frames processed on every camera, counted over
``--seconds`` from ``--warmup`` seconds after every camera's first processed frame (model loading
and the first, slower inferences are not the box's steady state). "age ms" is the p50/p95 time
from a frame's capture to the end of its pipeline (the service's ``crossguard_frame_age_seconds``
histogram over the window): what the frames kept for a busy loop cost in delay. Figures depend
on the machine and on what else runs on it; the script prints the load average beside them.

    python benchmarks/bench_cameras.py --max-cameras 4 --seconds 20
    python benchmarks/bench_cameras.py --clip towncentre --max-cameras 2 --stride 2 --gating
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from ruamel.yaml import YAML  # noqa: E402
from soak import free_port  # noqa: E402

from tests.conftest import shared_data_dir  # noqa: E402

CLIPS = {
    "demo": (REPO / "sites/demo/site.yaml", "video/crosswalk_elevated_fixed.mp4"),
    "towncentre": (REPO / "sites/eval/towncentre-excerpt/site.yaml", "video/towncentre_excerpt_f001-126.mp4"),
}
DEFAULT_MODEL = "models/yolov8n_int8_640.onnx"
FULL_RATE = 0.97


def shared(name: str) -> Path:
    path = shared_data_dir() / name
    if not path.is_file():
        raise SystemExit(f"{path} is missing: set CROSSGUARD_SHARED_DATA to the shared data folder")
    return path


@dataclass
class Settings:
    stride: int
    gating: bool
    crop: bool
    threads: int
    pack: bool = True
    warmup: float = 5.0


@dataclass
class Figures:
    mode: str
    cameras: int
    captured: list[int]
    processed: list[int]
    dropped: list[int]
    seconds: float
    peak_rss_mb: float
    frame_age_ms: tuple[float, float] | None = None  # p50, p95 from capture to the end of the pipeline

    @property
    def full_rate(self) -> bool:
        return all(p >= FULL_RATE * c for p, c in zip(self.processed, self.captured, strict=True) if c)

    def row(self) -> str:
        share = [f"{p / c:.0%}" if c else "-" for p, c in zip(self.processed, self.captured, strict=True)]
        fps = sum(self.processed) / self.seconds
        age = "-" if self.frame_age_ms is None else f"{self.frame_age_ms[0]:.0f}/{self.frame_age_ms[1]:.0f}"
        return (
            f"{self.mode:<12} {self.cameras:>2}  {fps:6.1f}  {' '.join(share):<24} "
            f"{' '.join(map(str, self.dropped)):<20} {self.peak_rss_mb:7.0f}  {age:>9}  "
            f"{'yes' if self.full_rate else 'no'}"
        )


def site_file(folder: Path, clip: str, cameras: int, settings: Settings, port: int) -> Path:
    """The clip's site with ``cameras`` cameras on the clip, each with its own copy of the crosswalks."""
    template, video = CLIPS[clip]
    yaml = YAML(typ="safe")
    data = yaml.load(template.read_text(encoding="utf-8"))
    camera = data.pop("camera")
    ids = [f"cam{i + 1}" for i in range(cameras)]
    data["cameras"] = [camera | {"id": i, "source": str(shared(video))} for i in ids]
    crosswalks = data["crosswalks"]
    data["crosswalks"] = [
        cw | {"id": f"{cw['id']}-{i}" if cameras > 1 else cw["id"], "camera": i} for i in ids for cw in crosswalks
    ]
    data["detector"]["model"] = str(shared(DEFAULT_MODEL))
    data["detector"]["threads"] = settings.threads
    data["detector"]["crop"] = {"enabled": settings.crop}
    for source in data.get("signal", {}).get("sources", []):
        if "path" in source and not Path(source["path"]).is_absolute():
            source["path"] = str((template.parent / source["path"]).resolve())
    data["evidence"] = {"root": str(folder / "evidence")}
    data["web"] = {"users_db": str(folder / "users.db"), "port": 0}
    data["mqtt"] = {"enabled": False}
    data["service"] = {
        "data_dir": str(folder / "state"),
        "status_interval_s": 60,
        "capture": {"realtime": True, "loop": True},
        "http": {"port": port},
        "performance": {
            "detect_stride": settings.stride,
            "motion_gating": settings.gating,
            "pack_cameras": settings.pack,
        },
    }
    path = folder / "site.yaml"
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
    return path


class PeakRss:
    """Samples the peak RSS (VmHWM) of processes while they run."""

    def __init__(self, pids: list[int]) -> None:
        self.peaks = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            for pid in self.peaks:
                try:
                    text = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[pid] = max(self.peaks[pid], int(line.split()[1]) / 1024)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(self.peaks.values())


def run_services(
    clip: str, sites: list[Path], seconds: float, warmup: float
) -> tuple[list[dict[str, Any]], float, float, tuple[float, float] | None]:
    """``crossguard run`` on each site at once; each one's counts over the measured window, the summed
    peak RSS, the window's length and the frame age p50/p95 over (nearly) the window, in ms.

    The window starts ``warmup`` seconds after every camera processed its first frame, so loading
    the model and the first, slower inferences are not counted, and ends when the services stop.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run", "--site", str(site), "--duration", str(seconds + warmup)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for site in sites
    ]
    rss = PeakRss([p.pid for p in procs])
    ports = [YAML(typ="safe").load(site.read_text(encoding="utf-8"))["service"]["http"]["port"] for site in sites]
    first = _wait_for_frames(ports, procs, timeout=120)
    time.sleep(warmup)
    start = [_status(port) if first else None for port in ports]
    started = time.monotonic()
    ages_before = [_frame_ages(port) for port in ports]
    time.sleep(max(0.0, seconds - 1.0))  # the services stop by themselves at the window's end
    ages = _age_percentiles(ages_before, [_frame_ages(port) for port in ports])
    errors = [p.communicate(timeout=seconds + warmup + 180)[1] for p in procs]
    window = time.monotonic() - started
    peak = rss.stop()
    statuses = []
    for proc, site, err, before in zip(procs, sites, errors, start, strict=True):
        if proc.returncode != 0:
            raise SystemExit(f"{clip}: crossguard run failed ({proc.returncode}):\n{err[-2000:]}")
        final = json.loads((site.parent / "state" / "status.json").read_text())
        statuses.append(_since(final, before))
    return statuses, peak, window, ages


AGE_BUCKET = "crossguard_frame_age_seconds_bucket"


def _frame_ages(port: int) -> dict[float, float]:
    """The service's frame-age histogram (capture to end of pipeline): cumulative count per bucket bound."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    counts: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith(AGE_BUCKET):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            counts[float(bound)] = float(line.rsplit(" ", 1)[1])
    return counts


def _age_percentiles(
    before: list[dict[float, float]], after: list[dict[float, float]]
) -> tuple[float, float] | None:
    """p50 and p95 in ms of the frames processed between the two readings, every service together,
    interpolated linearly inside the histogram's buckets."""
    bounds = sorted({b for reading in after for b in reading})
    cumulative = [sum(a.get(b, 0.0) - z.get(b, 0.0) for z, a in zip(before, after, strict=True)) for b in bounds]
    if not bounds or cumulative[-1] <= 0:
        return None

    def percentile(q: float) -> float:
        wanted = q * cumulative[-1]
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in zip(bounds, cumulative, strict=True):
            if count >= wanted:
                if math.isinf(bound):
                    return lower_bound * 1000
                share = (wanted - lower_count) / max(count - lower_count, 1e-9)
                return (lower_bound + share * (bound - lower_bound)) * 1000
            lower_bound, lower_count = bound, count
        return lower_bound * 1000

    return percentile(0.5), percentile(0.95)


COUNTS = ("frames_captured", "frames_processed", "frames_dropped")


def _status(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError):
        return None


def _wait_for_frames(ports: list[int], procs: list[subprocess.Popen[str]], timeout: float) -> bool:
    """Until every camera of every service has processed a frame (False: gave up, count from the start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        statuses = [_status(port) for port in ports]
        if all(s and s.get("cameras") and all(c["frames_processed"] for c in s["cameras"].values()) for s in statuses):
            return True
        time.sleep(0.5)
    return False


def _since(final: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """The final status with each camera's counts less those at the window's start."""
    if before is None:
        return final
    cameras = {}
    for name, camera in final["cameras"].items():
        earlier = before["cameras"].get(name, {})
        cameras[name] = camera | {k: camera[k] - earlier.get(k, 0) for k in COUNTS}
    return final | {"cameras": cameras}


def per_camera(status: dict[str, Any]) -> list[dict[str, Any]]:
    return list(status["cameras"].values())


def bench_one(clip: str, cameras: int, settings: Settings, seconds: float, root: Path) -> Figures:
    folder = root / f"one-{clip}-{cameras}"
    folder.mkdir()
    (status,), peak, window, ages = run_services(
        clip, [site_file(folder, clip, cameras, settings, free_port())], seconds, settings.warmup
    )
    cams = per_camera(status)
    return Figures(
        "one service",
        cameras,
        [c["frames_captured"] for c in cams],
        [c["frames_processed"] for c in cams],
        [c["frames_dropped"] for c in cams],
        window,
        peak,
        ages,
    )


def bench_separate(clip: str, cameras: int, settings: Settings, seconds: float, root: Path) -> Figures:
    sites = []
    for i in range(cameras):
        folder = root / f"sep-{clip}-{cameras}-{i}"
        folder.mkdir()
        sites.append(site_file(folder, clip, 1, settings, free_port()))
    statuses, peak, window, ages = run_services(clip, sites, seconds, settings.warmup)
    cams = [c for s in statuses for c in per_camera(s)]
    return Figures(
        "N services",
        cameras,
        [c["frames_captured"] for c in cams],
        [c["frames_processed"] for c in cams],
        [c["frames_dropped"] for c in cams],
        window,
        peak,
        ages,
    )


def bench_ultralytics(clip: str, cameras: int, settings: Settings, seconds: float) -> Figures:
    """This script again, as ``--peer``, so the peer's memory is its own process's."""
    args = [sys.executable, __file__, "--peer", clip, "--cameras", str(cameras), "--seconds", str(seconds)]
    args += ["--threads", str(settings.threads)]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rss = PeakRss([proc.pid])
    out, err = proc.communicate(timeout=seconds + 300)
    peak = rss.stop()
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"ultralytics peer failed:\n{err[-2000:]}")
    result = json.loads(lines[-1])
    return Figures("ultralytics", cameras, result["captured"], result["processed"], result["dropped"], seconds, peak)


class PacedReader:
    """A clip looped at its frame rate, keeping only the newest frame (as a live camera's capture does)."""

    def __init__(self, path: Path) -> None:
        import cv2

        self.path = path
        self.fps = cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) or 25.0
        self.frame: Any = None
        self.captured = self.dropped = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import cv2

        capture = cv2.VideoCapture(str(self.path))
        start, n = time.monotonic(), 0
        while not self.stop.is_set():
            ok, image = capture.read()
            if not ok:
                capture = cv2.VideoCapture(str(self.path))
                continue
            n += 1
            time.sleep(max(0.0, start + n / self.fps - time.monotonic()))
            with self.lock:
                self.dropped += self.frame is not None
                self.frame = image
                self.captured += 1

    def take(self) -> Any:
        with self.lock:
            frame, self.frame = self.frame, None
            return frame


def peer(clip: str, cameras: int, seconds: float, threads: int) -> None:
    """The ultralytics peer: a ``model.track()`` per camera, the newest frame of each in turn."""
    os.environ.setdefault("YOLO_VERBOSE", "False")
    import onnxruntime  # noqa: F401  (ultralytics picks it for .onnx files)
    from ultralytics import YOLO

    model_path = str(shared(DEFAULT_MODEL))
    import cv2

    models = [YOLO(model_path, task="detect") for _ in range(cameras)]
    _, first = cv2.VideoCapture(str(shared(CLIPS[clip][1]))).read()
    for model in models:  # loaded and warmed up before the cameras start, as the service is
        model.predict(first, classes=[0], conf=0.1, imgsz=640, verbose=False)
    readers = [PacedReader(shared(CLIPS[clip][1])) for _ in range(cameras)]
    processed = [0] * cameras
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        idle = True
        for i, (model, reader) in enumerate(zip(models, readers, strict=True)):
            frame = reader.take()
            if frame is None:
                continue
            idle = False
            model.track(frame, persist=True, classes=[0], conf=0.1, imgsz=640, verbose=False)
            processed[i] += 1
        if idle:
            time.sleep(0.005)
    for reader in readers:
        reader.stop.set()
    for reader in readers:
        reader.thread.join(timeout=5)
    print(
        json.dumps(
            {
                "captured": [r.captured for r in readers],
                "processed": processed,
                "dropped": [r.dropped for r in readers],
            }
        ),
        flush=True,
    )
    os._exit(0)  # the figures are out; ultralytics' and OpenCV's threads need no orderly teardown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", choices=[*CLIPS, "both"], default="both")
    parser.add_argument("--min-cameras", type=int, default=1, help="first camera count measured")
    parser.add_argument("--max-cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    parser.add_argument("--modes", default="one,separate,ultralytics", help="one, separate and/or ultralytics")
    parser.add_argument("--stride", type=int, default=1, help="service.performance.detect_stride")
    parser.add_argument("--gating", action="store_true", help="service.performance.motion_gating")
    parser.add_argument("--no-crop", action="store_true", help="detect on the whole frame (detector.crop off)")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    parser.add_argument("--no-pack", action="store_true", help="detect each camera's frame alone (pack_cameras off)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after the first frames before counting")
    parser.add_argument("--peer", choices=list(CLIPS), help=argparse.SUPPRESS)
    parser.add_argument("--cameras", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        peer(args.peer, args.cameras, args.seconds, args.threads)
        return 0
    settings = Settings(args.stride, args.gating, not args.no_crop, args.threads, not args.no_pack, args.warmup)
    modes = set(args.modes.split(","))
    clips = list(CLIPS) if args.clip == "both" else [args.clip]
    load = os.getloadavg()
    print(
        f"cameras per box: {args.seconds:.0f} s runs, model {Path(DEFAULT_MODEL).name}, {os.cpu_count()} cores, "
        f"stride {settings.stride}, motion gating {'on' if settings.gating else 'off'}, "
        f"crop {'on' if settings.crop else 'off'}, packing {'on' if settings.pack else 'off'}, "
        f"{settings.threads} ONNX thread(s); "
        f"load average before: {load[0]:.1f} {load[1]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-cameras-") as tmp:
        root = Path(tmp)
        for clip in clips:
            print(f"\n{clip}: {'mode':<10} {'N':>2}  {'fps':>6}  {'processed/captured':<24} {'stale dropped':<20} "
                  f"{'RSS MB':>7}  {'age ms':>9}  full rate")  # fmt: skip
            for n in range(args.min_cameras, args.max_cameras + 1):
                if "one" in modes:
                    print(f"{clip}: " + bench_one(clip, n, settings, args.seconds, root).row(), flush=True)
                if "separate" in modes and n > 1:
                    print(f"{clip}: " + bench_separate(clip, n, settings, args.seconds, root).row(), flush=True)
                if "ultralytics" in modes:
                    print(f"{clip}: " + bench_ultralytics(clip, n, settings, args.seconds).row(), flush=True)
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.1f} {load[1]:.1f} (other work on the machine lowers every figure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
