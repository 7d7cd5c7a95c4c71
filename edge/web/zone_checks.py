"""Validation of edited zones: the config models plus the geometry a person drawing can get wrong.

Errors block a save; warnings are shown but allowed. Every issue names the key path of
the polygon (``crosswalks[0].curbs[1].polygon``) so the editor can highlight it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pydantic import ValidationError

from edge.config.site import SiteConfig
from edge.signal.coverage import group_problems
from edge.web.i18n import Text, translate, validation_message
from edge.zones import CrosswalkGeometry

RASTER = 400  # overlap fractions are scale-free, so a coarse square raster is enough
CURB_OVERLAP_MAX = 0.02  # of the smaller curb
CURB_INSIDE_CROSSWALK_MAX = 0.5  # of the curb's area
CURB_GAP_WARN = 0.08  # fraction of the picture between a curb and its crosswalk


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class ZoneIssue:
    severity: Severity
    key: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"severity": self.severity.value, "key": self.key, "message": str(translate(self.message))}


def dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def data_loc(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """A pydantic error location as a path through ``data``: the union tags pydantic inserts dropped.

    >>> data_loc(("signal", "sources", 0, "vision", "heads"), {"signal": {"sources": [{"type": "vision"}]}})
    ('signal', 'sources', 0, 'heads')
    """
    out, node = [], data
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue  # a discriminated union's tag, not a key of the file
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def validate_zones(
    site_data: dict[str, Any], crosswalks: Any, site_dir: Path | None = None
) -> tuple[SiteConfig | None, list[ZoneIssue]]:
    """Check ``crosswalks`` in place of the site's own; the config is returned when nothing is an error.

    ``site_dir`` (the site file's folder) lets relative timeline paths be read to learn their groups.
    """
    issues = list(_raw_geometry_issues(crosswalks))
    flagged = {i.key.rsplit("[", 1)[0] for i in issues}
    data = copy.deepcopy(site_data)
    data["crosswalks"] = crosswalks
    try:
        site = SiteConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            key = dotted(data_loc(tuple(err["loc"]), data))
            message = validation_message(err)  # English as a string; translated where the page shows it
            if "lies outside the picture" in message and key in flagged:
                continue  # already reported per vertex
            issues.append(ZoneIssue(Severity.ERROR, key, message))
        return None, issues
    for index, cw in enumerate(site.crosswalks):
        issues += _overlap_issues(index, cw)
        try:
            CrosswalkGeometry.from_config(cw, RASTER, RASTER)
        except ValueError as exc:
            issues.append(ZoneIssue(Severity.ERROR, f"crosswalks[{index}].curbs", str(exc)))
    issues += _crosswalks_overlap(site)
    issues += [
        ZoneIssue(Severity.ERROR if p.blocking else Severity.WARNING, p.key, p.message)
        for p in group_problems(site, site_dir)
    ]
    has_error = any(i.severity is Severity.ERROR for i in issues)
    return (None if has_error else site), issues


# ---- raw polygons (before the models, so a broken draft still gets every geometry hint) --------


def _polygons_of(crosswalks: Any) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if not isinstance(crosswalks, list):
        return found
    for i, cw in enumerate(crosswalks):
        if not isinstance(cw, dict):
            continue
        found.append((f"crosswalks[{i}].polygon", cw.get("polygon")))
        curbs = cw.get("curbs")
        for j, curb in enumerate(curbs if isinstance(curbs, list) else []):
            if isinstance(curb, dict):
                found.append((f"crosswalks[{i}].curbs[{j}].polygon", curb.get("polygon")))
    return found


def _as_points(raw: Any) -> np.ndarray | None:
    try:
        pts = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        return None
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3 or not np.isfinite(pts).all():
        return None
    return pts


def _raw_geometry_issues(crosswalks: Any) -> list[ZoneIssue]:
    issues = []
    for key, raw in _polygons_of(crosswalks):
        pts = _as_points(raw)
        if pts is None:
            continue
        for k, (x, y) in enumerate(pts):
            if not (0 <= x <= 1 and 0 <= y <= 1):
                issues.append(
                    ZoneIssue(
                        Severity.ERROR,
                        f"{key}[{k}]",
                        Text("corner {n} ({x}, {y}) lies outside the picture", n=k + 1, x=f"{x:.3f}", y=f"{y:.3f}"),
                    )
                )
        crossing = self_intersection(pts)
        if crossing is not None:
            a, b = crossing
            # Corners numbered from 1, as the editor labels them on the picture.
            edge_a, edge_b = f"{a + 1}-{a + 2}", f"{b + 1}-{(b + 1) % len(pts) + 1}"
            message = Text("the edges between corners {a} and {b} cross each other", a=edge_a, b=edge_b)
            issues.append(ZoneIssue(Severity.ERROR, key, message))
    return issues


def _orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> float:
    return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))


def _segments_cross(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> bool:
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def self_intersection(pts: np.ndarray) -> tuple[int, int] | None:
    """First pair of non-adjacent edges (by start index) that cross, or None for a simple polygon.

    >>> self_intersection(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)) is None
    True
    >>> self_intersection(np.array([[0, 0], [1, 1], [1, 0], [0, 1]], float))
    (0, 2)
    """
    n = len(pts)
    for a in range(n):
        for b in range(a + 2, n):
            if a == 0 and b == n - 1:
                continue  # these two edges share vertex 0
            if _segments_cross(pts[a], pts[(a + 1) % n], pts[b], pts[(b + 1) % n]):
                return a, b
    return None


# ---- overlaps between a crosswalk and its curbs ------------------------------------------------


def _mask(polygon: list[tuple[float, float]]) -> np.ndarray:
    mask = np.zeros((RASTER, RASTER), np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(polygon) * (RASTER - 1)).astype(np.int32)], 1)
    return mask.astype(bool)


def _gap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Smallest distance between two polygons' outlines (0 when they touch or overlap)."""
    mask_a, mask_b = _mask(a), _mask(b)
    if (mask_a & mask_b).any():
        return 0.0
    contour = np.asarray(b, np.float32).reshape(-1, 1, 2)
    dist = [abs(cv2.pointPolygonTest(contour, (float(x), float(y)), True)) for x, y in a]
    contour_a = np.asarray(a, np.float32).reshape(-1, 1, 2)
    dist += [abs(cv2.pointPolygonTest(contour_a, (float(x), float(y)), True)) for x, y in b]
    return min(dist)


def _overlap_issues(index: int, cw: Any) -> list[ZoneIssue]:
    issues = []
    base = f"crosswalks[{index}]"
    crosswalk = _mask(cw.polygon)
    curbs = [_mask(c.polygon) for c in cw.curbs]
    for j, (curb, mask) in enumerate(zip(cw.curbs, curbs, strict=True)):
        area = max(int(mask.sum()), 1)
        inside = float((mask & crosswalk).sum()) / area
        if inside > CURB_INSIDE_CROSSWALK_MAX:
            issues.append(
                ZoneIssue(
                    Severity.ERROR,
                    f"{base}.curbs[{j}].polygon",
                    Text(
                        "curb '{curb}' lies {share} inside the crosswalk; where they overlap the crosswalk"
                        " wins, so people there never count as waiting", curb=curb.name, share=f"{inside:.0%}"
                    ),
                )
            )
        gap = _gap(curb.polygon, cw.polygon)
        if gap > CURB_GAP_WARN:
            issues.append(
                ZoneIssue(
                    Severity.WARNING,
                    f"{base}.curbs[{j}].polygon",
                    Text(
                        "curb '{curb}' is {share} of the picture away from the crosswalk; people walking"
                        " between them are not followed from curb to crosswalk", curb=curb.name, share=f"{gap:.0%}"
                    ),
                )
            )
    smaller = max(min(int(curbs[0].sum()), int(curbs[1].sum())), 1)
    shared = float((curbs[0] & curbs[1]).sum()) / smaller
    if shared > CURB_OVERLAP_MAX:
        issues.append(
            ZoneIssue(
                Severity.ERROR,
                f"{base}.curbs",
                Text(
                    "curbs '{a}' and '{b}' overlap ({share} of the smaller); a person there would be at both ends",
                    a=cw.curbs[0].name, b=cw.curbs[1].name, share=f"{shared:.0%}",
                ),
            )
        )
    return issues


def _crosswalks_overlap(site: SiteConfig) -> list[ZoneIssue]:
    issues = []
    masks = [_mask(c.polygon) for c in site.crosswalks]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            if (masks[i] & masks[j]).sum() > 0.02 * min(masks[i].sum(), masks[j].sum()):
                issues.append(
                    ZoneIssue(
                        Severity.WARNING,
                        f"crosswalks[{j}].polygon",
                        Text(
                            "crosswalks '{a}' and '{b}' overlap; a person there is judged by both",
                            a=site.crosswalks[i].id, b=site.crosswalks[j].id,
                        ),
                    )
                )
    return issues
