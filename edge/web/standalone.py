"""The picture ``crossguard ui`` shows without a running pipeline: the camera file's first frame."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from detection.types import Detections
from edge.annotate import Annotator
from edge.config import ConfigError, load_site
from edge.config.site import SiteConfig
from edge.pipeline import Frame, FrameResult
from edge.web.context import WebContext

log = logging.getLogger(__name__)


def camera_file(site_path: Path, source: str) -> Path | None:
    """The camera source as a local file (relative to the site file), or None for streams and devices."""
    if not source or "://" in source or source.startswith("/dev/"):
        return None
    path = Path(source)
    path = path if path.is_absolute() else site_path.parent / path
    return path if path.is_file() else None


def first_frame(path: Path) -> np.ndarray | None:
    capture = cv2.VideoCapture(str(path))
    try:
        ok, image = capture.read()
    finally:
        capture.release()
    return image if ok else None


def _jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    return data.tobytes() if ok else b""


class SitePicture:
    """First frame of the site's camera file, plain (for the editor) and with the saved zones drawn."""

    def __init__(self, site_path: Path) -> None:
        self.site_path = site_path
        self._image: np.ndarray | None = None
        self._looked = False

    def _site(self) -> SiteConfig | None:
        try:
            return load_site(self.site_path)
        except ConfigError as exc:
            log.warning("cannot draw zones: %s", exc)
            return None

    def image(self) -> np.ndarray | None:
        if not self._looked:
            self._looked = True
            site = self._site()
            path = camera_file(self.site_path, site.camera.source) if site else None
            self._image = first_frame(path) if path else None
            if self._image is None:
                log.info("no local camera file for %s; the zone editor needs an uploaded picture", self.site_path)
        return self._image

    def raw(self) -> bytes | None:
        image = self.image()
        return None if image is None else _jpeg(image)

    def annotated(self) -> bytes | None:
        image, site = self.image(), self._site()
        if image is None or site is None:
            return None
        empty = Detections.empty()
        result = FrameResult(Frame(0, 0.0, 0.0, image), empty, empty, [], [], {}, {})
        return _jpeg(Annotator(site).draw(result))


def standalone_status(site_path: Path) -> dict[str, Any]:
    try:
        site = load_site(site_path)
    except ConfigError as exc:
        return {"mode": "review only (no camera pipeline)", "site_file": {"path": str(site_path), "problems": str(exc)}}
    return {
        "mode": "review only (no camera pipeline)",
        "site": {"id": site.site.id, "name": site.site.name, "device": site.site.device_id},
        "crosswalks": {
            cw.id: {"signal_group": cw.signal_group, "curbs": [c.name for c in cw.curbs]} for cw in site.crosswalks
        },
    }


def standalone_context(
    site_path: Path,
    users_db: Path,
    evidence_root: Path | None = None,
    https: bool = False,
    data_dir: Path | None = None,
) -> WebContext:
    """A context for ``crossguard ui``: saved zones have nothing running to apply to.

    ``data_dir`` is the service's state folder; the dashboard counts crossings from its event
    journal when the service has run on this box.
    """
    picture = SitePicture(site_path)
    return WebContext(
        site_path=site_path,
        users_db=users_db,
        snapshot=picture.annotated,
        raw_snapshot=picture.raw,
        status=lambda: standalone_status(site_path),
        evidence_root=evidence_root,
        https=https,
        journal_dir=data_dir / "events" if data_dir is not None else None,
    )
