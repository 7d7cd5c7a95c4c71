"""The composite evidence sheet: three pictures and the close-up, violator outlined, an information strip."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

Box = tuple[float, float, float, float]
VIOLATOR_BGR = (0, 0, 255)
HEAD_FRACTION = 0.3  # top part of a person box blurred as the head
FONT_CANDIDATES = (  # CJK first: site names may be in Chinese; these fonts cover Latin too
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class Panel:
    """One picture on the sheet, with the boxes needed to outline and blur it."""

    name: str
    caption: str
    image_bgr: np.ndarray
    violator: Box | None
    bystanders: np.ndarray  # (n, 4) xyxy of other people; their heads are blurred


@dataclass(frozen=True)
class PlacedPanel:
    name: str
    rect: tuple[int, int, int, int]  # x, y, w, h on the sheet
    violator: tuple[int, int, int, int] | None  # violator box on the sheet, xyxy


@lru_cache(maxsize=8)
def _font(size: int, path: str | None = None) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if path is not None:
        return ImageFont.truetype(path, size)
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default()


def _clip_box(box: Box, w: int, h: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    return (max(0, int(x1)), max(0, int(y1)), min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2))))


def blur_heads(image: np.ndarray, bystanders: np.ndarray, keep: Box | None) -> np.ndarray:
    """Blur the top part of every bystander box; the violator's own box is left sharp."""
    out = image.copy()
    h, w = out.shape[:2]
    for x1, y1, x2, y2 in bystanders:
        head = (x1, y1, x2, y1 + max(4.0, (y2 - y1) * HEAD_FRACTION))
        ax1, ay1, ax2, ay2 = _clip_box(head, w, h)
        if ax2 - ax1 < 2 or ay2 - ay1 < 2:
            continue
        k = max(3, (max(ax2 - ax1, ay2 - ay1) // 2) | 1)
        out[ay1:ay2, ax1:ax2] = cv2.GaussianBlur(out[ay1:ay2, ax1:ax2], (k, k), 0)
    if keep is not None:
        kx1, ky1, kx2, ky2 = _clip_box(keep, w, h)
        out[ky1:ky2, kx1:kx2] = image[ky1:ky2, kx1:kx2]
    return out


def _fit(image: np.ndarray, w: int, h: int) -> tuple[np.ndarray, float, int, int]:
    """Scale ``image`` into a w x h cell keeping its aspect; returns cell, scale and offsets."""
    ih, iw = image.shape[:2]
    scale = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * scale)), max(1, round(ih * scale))
    cell = np.full((h, w, 3), 40, np.uint8)
    ox, oy = (w - nw) // 2, (h - nh) // 2
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    cell[oy : oy + nh, ox : ox + nw] = cv2.resize(image, (nw, nh), interpolation=interp)
    return cell, scale, ox, oy


def _caption(cell: np.ndarray, text: str, scale: float, font: str | None = None) -> None:
    if not text.isascii():  # OpenCV's Hershey fonts have no CJK glyphs: Pillow draws it
        _pillow_caption(cell, text, scale, font)
        return
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(cell, (0, 0), (tw + 8, th + base + 8), (0, 0, 0), -1)
    cv2.putText(cell, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _pillow_caption(cell: np.ndarray, text: str, scale: float, font_path: str | None) -> None:
    """The caption as ``_caption`` draws it (white on a black box, top left), in a TrueType font."""
    font = _font(max(10, round(scale * 30)), font_path)
    _, _, right, bottom = font.getbbox(text)
    w, h = int(right) + 8, int(bottom) + 8
    box = Image.new("RGB", (min(w, cell.shape[1]), min(h, cell.shape[0])), (0, 0, 0))
    ImageDraw.Draw(box).text((4, 4), text, fill=(255, 255, 255), font=font)
    cell[: box.height, : box.width] = cv2.cvtColor(np.asarray(box), cv2.COLOR_RGB2BGR)


def _info_strip(lines: list[str], width: int, font_px: int, font_path: str | None = None) -> np.ndarray:
    line_h = int(font_px * 1.45)
    height = line_h * len(lines) + font_px
    strip = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    font = _font(font_px, font_path)
    for i, line in enumerate(lines):
        draw.text((font_px // 2, font_px // 2 + i * line_h), line, fill=(0, 0, 0), font=font)
    return cv2.cvtColor(np.asarray(strip), cv2.COLOR_RGB2BGR)


def compose_sheet(
    panels: list[Panel], info_lines: list[str], blur: bool = True, font: str | None = None
) -> tuple[np.ndarray, list[PlacedPanel]]:
    """Lay ``panels`` (pictures 1-3, then the close-up) on a 2x2 grid above the information strip;
    ``font``: the TrueType file for text OpenCV cannot draw (Chinese), else the default choice."""
    cell_h, cell_w = panels[0].image_bgr.shape[:2]
    thickness = max(2, cell_w // 320)
    grid = np.zeros((2 * cell_h, 2 * cell_w, 3), np.uint8)
    placed = []
    for i, panel in enumerate(panels[:4]):
        image = blur_heads(panel.image_bgr, panel.bystanders, panel.violator) if blur else panel.image_bgr
        cell, scale, ox, oy = _fit(image, cell_w, cell_h)
        x0, y0 = (i % 2) * cell_w, (i // 2) * cell_h
        sheet_box = None
        if panel.violator is not None:
            bx1, by1, bx2, by2 = (round(v * scale) for v in panel.violator)
            local = (bx1 + ox, by1 + oy, min(cell_w - 1, bx2 + ox), min(cell_h - 1, by2 + oy))
            cv2.rectangle(cell, local[:2], local[2:], VIOLATOR_BGR, thickness)
            sheet_box = (local[0] + x0, local[1] + y0, local[2] + x0, local[3] + y0)
        _caption(cell, panel.caption, max(0.4, cell_w / 1400), font)
        grid[y0 : y0 + cell_h, x0 : x0 + cell_w] = cell
        placed.append(PlacedPanel(panel.name, (x0, y0, cell_w, cell_h), sheet_box))
    strip = _info_strip(info_lines, grid.shape[1], max(14, cell_w // 40), font)
    return np.vstack([grid, strip]), placed
