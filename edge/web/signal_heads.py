"""Signal-head boxes in the site file, for the zone editor.

A camera-read signal source (``type: vision``) names, per head, a ``region`` box and an
optional ``countdown_region`` box as ``[x1, y1, x2, y2]`` fractions of the picture. The
editor finds them by walking the file's data, so it needs no knowledge of that source's
other settings, and writes back only those boxes through the round-trip document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

BOX_KEYS = ("region", "countdown_region")
KEY_PATTERN = re.compile(r"^signal\.sources\[(\d+)\]\.heads\[(\d+)\]\.(region|countdown_region)$")


class BoxError(ValueError):
    """A box the editor may not write; the message names its key."""


@dataclass(frozen=True)
class HeadBox:
    key: str  # e.g. signal.sources[0].heads[1].region
    group: str
    kind: str  # region | countdown_region
    box: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "group": self.group, "kind": self.kind, "box": self.box}


def head_boxes(data: dict[str, Any]) -> list[HeadBox]:
    """Every signal-head box in a site file's plain data, in file order."""
    found: list[HeadBox] = []
    signal = data.get("signal")
    sources = signal.get("sources") if isinstance(signal, dict) else None
    for i, source in enumerate(sources if isinstance(sources, list) else []):
        heads = source.get("heads") if isinstance(source, dict) else None
        for j, head in enumerate(heads if isinstance(heads, list) else []):
            if not isinstance(head, dict):
                continue
            for kind in BOX_KEYS:
                box = head.get(kind)
                if isinstance(box, list) and len(box) == 4:
                    key = f"signal.sources[{i}].heads[{j}].{kind}"
                    found.append(HeadBox(key, str(head.get("group", "")), kind, [float(v) for v in box]))
    return found


def _checked(boxes: dict[str, Any], known: set[str]) -> dict[str, list[float]]:
    out = {}
    for key, box in boxes.items():
        if key not in known:
            raise BoxError(f"{key}: not a signal-head box of this site file")
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            raise BoxError(f"{key}: a box is four numbers [x1, y1, x2, y2]")
        out[key] = [round(float(v), 4) for v in box]
    return out


def _head_node(doc: Any, key: str) -> tuple[Any, str]:
    match = KEY_PATTERN.match(key)
    assert match is not None  # keys were checked against the file's own boxes
    source, head, kind = int(match.group(1)), int(match.group(2)), match.group(3)
    return doc["signal"]["sources"][source]["heads"][head], kind


def apply_boxes(data: dict[str, Any], boxes: dict[str, Any]) -> dict[str, Any]:
    """Plain site data with the given boxes replaced (for validation); raises BoxError on unknown keys."""
    checked = _checked(boxes, {b.key for b in head_boxes(data)})
    for key, box in checked.items():
        node, kind = _head_node(data, key)
        node[kind] = box
    return data


def write_boxes(doc: CommentedMap, boxes: dict[str, Any]) -> None:
    """Set the boxes in a round-trip document, each on one flow-style line."""
    checked = _checked(boxes, {b.key for b in head_boxes(doc)})
    for key, box in checked.items():
        node, kind = _head_node(doc, key)
        if [float(v) for v in node[kind]] != box:
            seq = CommentedSeq(box)
            seq.fa.set_flow_style()
            node[kind] = seq
