"""The zone editor's work behind the API: read, validate, save with history, revert, apply live."""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.error import YAMLError

from edge.config import ConfigError
from edge.config.site import SiteConfig
from edge.ops.files import open_private
from edge.web.context import WebContext
from edge.web.i18n import Text
from edge.web.signal_heads import BoxError, apply_boxes, head_boxes
from edge.web.site_file import SiteHistory, SiteVersion, edit_crosswalks, sha256_text, site_data, write_site_atomically
from edge.web.zone_checks import Severity, ZoneIssue, validate_zones

log = logging.getLogger(__name__)
BACKGROUND_NAME = "background.jpg"  # an uploaded picture, kept beside the history
Validated = tuple[SiteConfig | None, list[ZoneIssue]]  # the config when there is no error, and every issue


class ZoneEditError(Exception):
    """A refused save or revert; ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str, issues: list[ZoneIssue] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.issues = issues or []


@dataclass
class SaveResult:
    version: SiteVersion
    sha256: str
    applied: bool
    apply_error: str | None = None
    issues: list[ZoneIssue] = field(default_factory=list)
    live: bool = True  # a running pipeline took (or refused) it; False under ``crossguard ui``: applies at start


    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version.to_dict(),
            "sha256": self.sha256,
            "applied": self.applied,
            "live": self.live,
            "apply_error": self.apply_error,
            "issues": [i.to_dict() for i in self.issues],
        }


class ZoneEditor:
    """One per app; a lock makes concurrent saves take turns, so no save is lost silently."""

    def __init__(self, context: WebContext) -> None:
        self.context = context
        self.history = SiteHistory(context.site_history_dir())
        self._adopt_legacy_history()
        self._lock = threading.Lock()

    def _adopt_legacy_history(self) -> None:
        """Carry over a history kept under the file's bare name (``site-history/site``) by earlier
        versions, but only when its newest version is this very file: that folder may be another site's."""
        legacy = self.history.folder.parent / self.path.stem
        if self.history.folder.exists() or not legacy.is_dir() or self.context.history_dir is not None:
            return
        versions = SiteHistory(legacy).versions()
        try:
            ours = bool(versions) and SiteHistory(legacy).text(versions[-1].version) == self.read()[0]
        except ZoneEditError:
            ours = False
        if ours:
            shutil.copytree(legacy, self.history.folder)
            log.info("site history of %s carried over from %s", self.path, legacy)

    @property
    def path(self) -> Path:
        return self.context.site_path

    def read(self) -> tuple[str, str]:
        """The site file's text and its SHA-256 (the ``base_sha256`` a save must quote)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ZoneEditError(
                503, Text("{path}: cannot read the site file: {error}", path=self.path, error=exc)
            ) from None
        return text, sha256_text(text)

    def current(self, camera: str | None = None) -> dict[str, Any]:
        """The file's zones; with ``camera`` only the crosswalks that camera watches."""
        text, digest = self.read()
        data = self._data(text)
        crosswalks = data.get("crosswalks") or []
        if camera is not None:
            crosswalks = [cw for cw in crosswalks if isinstance(cw, dict) and cw.get("camera") == camera]
        return {
            "sha256": digest,
            "site_file": str(self.path),
            "crosswalks": crosswalks,
            "signal_heads": [b.to_dict() for b in head_boxes(data)],
        }

    def merged(self, crosswalks: Any, camera: str | None) -> Any:
        """One camera's edited crosswalks in place of its saved ones, the other cameras' kept as saved."""
        if camera is None or not isinstance(crosswalks, list):
            return crosswalks
        text, _ = self.read()
        saved = self._data(text).get("crosswalks") or []
        others = [cw for cw in saved if not (isinstance(cw, dict) and cw.get("camera") == camera)]
        mine = [cw | {"camera": camera} if isinstance(cw, dict) else cw for cw in crosswalks]
        return others + mine

    def background(self) -> bytes | None:
        """The picture to draw zones on: live clean frame, live annotated frame, else the uploaded one."""
        ctx = self.context
        for source in (ctx.raw_snapshot, ctx.snapshot):
            jpeg = source() if source is not None else None
            if jpeg:
                return jpeg
        uploaded = self.history.folder / BACKGROUND_NAME
        return uploaded.read_bytes() if uploaded.is_file() else None

    def store_background(self, jpeg: bytes) -> None:
        self.history.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.history.folder / (BACKGROUND_NAME + ".tmp")
        with open_private(tmp, "wb") as handle:
            handle.write(jpeg)
        tmp.replace(self.history.folder / BACKGROUND_NAME)

    def validate(self, crosswalks: Any, boxes: dict[str, Any] | None = None) -> Validated:
        text, _ = self.read()
        return self._validate(text, crosswalks, boxes or {})

    def _data(self, text: str) -> dict[str, Any]:
        try:
            return site_data(text)
        except YAMLError as exc:
            raise ZoneEditError(
                503, Text("{path}: not valid YAML, fix it by hand first: {error}", path=self.path, error=exc)
            ) from None

    def _validate(self, text: str, crosswalks: Any, boxes: dict[str, Any]) -> Validated:
        data = self._data(text)
        try:
            data = apply_boxes(data, boxes)
        except BoxError as exc:
            return None, [ZoneIssue(Severity.ERROR, str(exc).split(":", 1)[0], str(exc))]
        return validate_zones(data, crosswalks, self.path.parent)

    def save(
        self, crosswalks: Any, user: str, base_sha256: str | None, note: str = "", boxes: dict[str, Any] | None = None
    ) -> SaveResult:
        with self._lock:
            text, digest = self.read()
            if base_sha256 and base_sha256 != digest:
                raise ZoneEditError(
                    409, Text("the site file changed since you loaded it; press Discard to load it and redo your edit")
                )
            site, issues = self._validate(text, crosswalks, boxes or {})
            if site is None:
                raise ZoneEditError(422, Text("the zones have errors; nothing was saved"), issues)
            new_text = edit_crosswalks(text, site.crosswalks, boxes)
            return self._write(text, new_text, user, note or "zones edited", issues)

    def revert(self, number: int, user: str) -> SaveResult:
        """Bring back version ``number``'s zones: its crosswalks and signal-head boxes, and nothing else.

        The rest of the current file (MQTT, camera, outputs, comments) stays as it is: the
        editor may change only what it edits, and an old version may predate other changes.
        """
        with self._lock:
            old = self.history.text(number)
            if old is None:
                raise ZoneEditError(404, Text("version {number} is not in the history", number=number))
            try:
                old_data = site_data(old)
            except YAMLError as exc:
                raise ZoneEditError(
                    422, Text("version {number} is not valid YAML: {error}", number=number, error=exc)
                ) from None
            text, _ = self.read()
            current = {b.key for b in head_boxes(self._data(text))}
            boxes = {b.key: b.box for b in head_boxes(old_data) if b.key in current}
            site, issues = self._validate(text, old_data.get("crosswalks") or [], boxes)
            if site is None:
                raise ZoneEditError(
                    422, Text("version {number}'s zones do not fit the current site file", number=number), issues
                )
            new_text = edit_crosswalks(text, site.crosswalks, boxes)
            return self._write(text, new_text, user, f"revert zones to version {number}", issues)

    def _write(self, before: str, after: str, user: str, note: str, issues: list[ZoneIssue]) -> SaveResult:
        if not self.history.versions():
            self.history.record(before, "-", "as found before the first edit")
        try:
            site = write_site_atomically(self.path, after)
        except ConfigError as exc:
            found = [ZoneIssue(Severity.ERROR, i.key, i.message) for i in exc.issues]
            raise ZoneEditError(422, Text("the new site file does not load; nothing was saved"), found) from None
        except OSError as exc:
            raise ZoneEditError(
                507, Text("{path}: cannot write the site file: {error}", path=self.path, error=exc)
            ) from None
        version = self.history.record(after, user, note)
        log.info("site file %s saved by %s (version %d): %s", self.path, user, version.version, note)
        applied, error = self._apply(site)
        return SaveResult(version, sha256_text(after), applied, error, issues, live=self.context.live is not None)

    def _apply(self, site: SiteConfig) -> tuple[bool, str | None]:
        try:
            self.context.apply_site(site)
        except Exception as exc:  # the file is saved; report why the running pipeline did not take it
            log.exception("applying the saved site config failed")
            return False, f"saved, but the running pipeline did not take it: {exc}"
        return True, None
