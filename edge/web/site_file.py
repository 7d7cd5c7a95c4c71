"""Rewriting the site file from the zone editor: comments kept, atomic replace, every version kept.

The YAML is edited through ruamel's round-trip document, so comments, key order and the
rest of the file survive; only the crosswalk entries the editor owns change. A save
writes a temporary file beside the site file, proves it loads with ``load_site``, fsyncs
it and renames it over the old one, then fsyncs the folder: a power cut leaves either
the old or the new file, never half of one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from edge.config import load_site
from edge.config.crosswalk import CrosswalkConfig, RuleConfig
from edge.config.load import load_yaml_text
from edge.config.site import SiteConfig
from edge.ops.files import open_private, write_private
from edge.web.signal_heads import write_boxes

HISTORY_KEEP = 100  # versions kept; older ones are pruned
INDEX_NAME = "versions.jsonl"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_site_atomically(path: Path, text: str) -> SiteConfig:
    """Replace ``path`` with ``text`` once it loads as a valid site; return the loaded config.

    Raises ``edge.config.ConfigError`` (and leaves the file alone) when the text is not a valid site.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        site = load_site(tmp)  # relative paths resolve the same: same folder
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
        fsync_dir(path.parent)
        return site
    finally:
        tmp.unlink(missing_ok=True)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # keep each polygon on one line
    yaml.indent(mapping=2, sequence=4, offset=2)  # the style of the shipped site files
    return yaml


def _flow_points(points: list[tuple[float, float]]) -> CommentedSeq:
    seq = CommentedSeq([_flow([round(x, 4), round(y, 4)]) for x, y in points])
    seq.fa.set_flow_style()
    return seq


def _flow(values: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def _set_points(node: CommentedMap, key: str, points: list[tuple[float, float]]) -> None:
    """Replace a polygon only when it moved, so untouched lines keep their spelling."""
    old = node.get(key)
    try:
        wanted = [(round(x, 4), round(y, 4)) for x, y in points]
        same = old is not None and [tuple(map(float, p)) for p in old] == wanted
    except (TypeError, ValueError):
        same = False
    if not same:
        node[key] = _flow_points(points)


def _update_rules(node: CommentedMap, rules: RuleConfig) -> None:
    """Write only what differs from the defaults or was already spelled out in the file."""
    wanted = rules.model_dump(mode="json")
    defaults = RuleConfig().model_dump(mode="json")
    existing = node.get("rules")
    if not isinstance(existing, CommentedMap):
        existing = CommentedMap()
    for key, value in wanted.items():
        if key in existing or value != defaults[key]:
            existing[key] = value
    if existing:
        node["rules"] = existing
    elif "rules" in node:
        del node["rules"]


def _update_crosswalk(node: CommentedMap, cw: CrosswalkConfig) -> CommentedMap:
    node["id"] = cw.id
    node["signal_group"] = cw.signal_group
    _set_points(node, "polygon", cw.polygon)
    curbs = node.get("curbs")
    if not isinstance(curbs, CommentedSeq) or len(curbs) != 2:
        curbs = CommentedSeq([CommentedMap(), CommentedMap()])
    for curb_node, curb in zip(curbs, cw.curbs, strict=True):
        curb_node["name"] = curb.name
        _set_points(curb_node, "polygon", curb.polygon)
    node["curbs"] = curbs
    _update_rules(node, cw.rules)
    if cw.camera is not None:
        node["camera"] = cw.camera
    elif "camera" in node:
        del node["camera"]
    return node


def edit_crosswalks(text: str, crosswalks: list[CrosswalkConfig], boxes: dict[str, Any] | None = None) -> str:
    """The site file ``text`` with its crosswalks replaced, matched by id, and signal-head ``boxes``
    set (key → [x1, y1, x2, y2]); comments and everything else kept."""
    yaml = _yaml()
    doc = load_yaml_text(text, yaml)
    write_boxes(doc, boxes or {})
    old = doc.get("crosswalks") or CommentedSeq()
    by_id = {n.get("id"): n for n in old if isinstance(n, CommentedMap)}
    new = CommentedSeq()
    for cw in crosswalks:
        new.append(_update_crosswalk(by_id.get(cw.id, CommentedMap()), cw))
    if isinstance(old, CommentedSeq):
        old.clear()
        old.extend(new)  # keeps the comments attached to the sequence itself
        new = old
    doc["crosswalks"] = new
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def site_data(text: str) -> dict[str, Any]:
    """Plain data of a site file's text, for validating a draft against the rest of the file."""
    doc = load_yaml_text(text, YAML(typ="safe"))
    return doc if isinstance(doc, dict) else {}


@dataclass(frozen=True)
class SiteVersion:
    version: int
    saved_utc: float
    user: str
    sha256: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.saved_utc))
        return asdict(self) | {"saved_at": stamp}


class SiteHistory:
    """Every saved version of one site file: ``vNNNNN.yaml`` plus one JSON line of who/when/why."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def versions(self) -> list[SiteVersion]:
        index = self.folder / INDEX_NAME
        if not index.exists():
            return []
        out = []
        for line in index.read_text(encoding="utf-8").splitlines():
            try:
                out.append(SiteVersion(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # a torn last line after a power cut: the versions before it still count
        return out

    def record(self, text: str, user: str, note: str) -> SiteVersion:
        self.folder.mkdir(parents=True, exist_ok=True)
        versions = self.versions()
        number = versions[-1].version + 1 if versions else 1
        version = SiteVersion(number, time.time(), user, sha256_text(text), note)
        content = self._path(number)
        write_private(content, text)  # a copy of the site file: broker and camera passwords
        with open_private(self.folder / INDEX_NAME, "a") as handle:
            handle.write(json.dumps(asdict(version)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._prune([*versions, version])
        return version

    def text(self, number: int) -> str | None:
        path = self._path(number)
        return path.read_text(encoding="utf-8") if path.exists() else None

    def _path(self, number: int) -> Path:
        return self.folder / f"v{number:05d}.yaml"

    def _prune(self, versions: list[SiteVersion]) -> None:
        for old in versions[:-HISTORY_KEEP]:
            self._path(old.version).unlink(missing_ok=True)
