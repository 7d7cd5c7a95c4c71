"""The evidence sheet in the site's language: zh-CN captions and information strip drawn in a CJK font."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from evidence.sheet_text import CHINESE, cjk_font, sheet_text
from tests.evidence.conftest import record_events

CELL_H, CELL_W = 352, 640  # each picture of the clip on the 2x2 grid


def _sheet(root: Path, **evidence: object) -> tuple[np.ndarray, dict]:
    (record,) = record_events(root, (70,), **evidence).records()
    manifest = json.loads((root / record.folder / "manifest.json").read_bytes())
    return cv2.imread(str(root / record.folder / "sheet.jpg")), manifest


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    if cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-noto-cjk, scripts/setup-test-env.sh)")
    english, _ = _sheet(tmp_path_factory.mktemp("en") / "root")
    chinese, _ = _sheet(tmp_path_factory.mktemp("zh") / "root", language="zh-CN")
    return english, chinese


def _ink(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) < 128


def test_chinese_sheet_has_the_same_pictures_and_chinese_text(sheets) -> None:
    english, chinese = sheets
    assert english.shape == chinese.shape
    below_captions = (slice(40, CELL_H), slice(0, 2 * CELL_W))
    diff = np.abs(english[below_captions].astype(int) - chinese[below_captions].astype(int))
    assert diff.mean() < 1.0, "the pictures are the same whatever the language"
    strip_en, strip_zh = english[2 * CELL_H :], chinese[2 * CELL_H :]
    line_h = int(max(14, CELL_W // 40) * 1.45)
    for n in range(6):  # every line of the information strip has text
        rows = slice(7 + n * line_h, 7 + (n + 1) * line_h)
        assert _ink(strip_zh[rows]).mean() > 0.01, f"line {n + 1} of the zh-CN strip is blank"
    assert np.abs(strip_en.astype(int) - strip_zh.astype(int)).mean() > 2, "the strip is not in Chinese"


def test_chinese_glyphs_are_drawn_not_missing_glyph_boxes(sheets) -> None:
    """The caption of picture 2 matches '2 进入人行横道' drawn in the CJK font, not the same text in a
    Latin-only font (which would draw empty boxes)."""
    _, chinese = sheets
    caption = CHINESE.pictures["2_entry"]
    found = cv2.cvtColor(chinese[0:40, CELL_W : CELL_W + 400], cv2.COLOR_BGR2GRAY)

    def drawn(font_path: str) -> np.ndarray:
        font = ImageFont.truetype(font_path, round(max(0.4, CELL_W / 1400) * 30))
        canvas = Image.new("L", (400, 40), 0)
        ImageDraw.Draw(canvas).text((4, 4), caption, fill=255, font=font)
        _, _, right, bottom = font.getbbox(caption)
        return np.asarray(canvas)[: int(bottom) + 6, : int(right) + 6]  # the label and a little of its black box

    def score(template: np.ndarray) -> float:
        return float(cv2.matchTemplate(found, template, cv2.TM_CCOEFF_NORMED).max())

    cjk = drawn(cjk_font())  # type: ignore[arg-type]
    latin = drawn("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    assert score(cjk) > 0.8 and score(cjk) > score(latin) + 0.2


def test_english_is_the_default_and_has_no_font_to_find() -> None:
    words, font = sheet_text("en")
    assert font is None and words.pictures["2_entry"] == "2 entering"
    assert words.signal.format(group="p1", state="DONT_WALK", since="4.3 s") == (
        "Signal p1: DONT_WALK at entry, 4.3 s since DON'T WALK began"
    )
