"""The words on the evidence sheet in each language a site may choose (``evidence.language``).

Chinese needs a font with CJK glyphs (Debian: fonts-noto-cjk); OpenCV's text cannot draw them, so
the sheet draws its text with Pillow. When no CJK font is installed the sheet falls back to English
(logged once), never to boxes of missing glyphs.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

CJK_FONT_CANDIDATES = (  # Debian's fonts-noto-cjk, then fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@dataclass(frozen=True)
class SheetText:
    """Templates of the sheet's captions and information strip (``str.format`` fields by name)."""

    pictures: dict[str, str]  # picture name → caption label
    closeup: str
    ids: str  # site, device, crosswalk, direction
    entry: str
    signal: str
    since_unknown: str
    signal_states: dict[str, str]  # SignalState value → as printed
    event: str
    software: str
    synced: str
    not_synced: str
    clock_unknown: str
    offset: str


ENGLISH = SheetText(
    pictures={"1_curb": "1 at curb", "2_entry": "2 entering", "3_inside": "3 inside"},
    closeup="close-up",
    ids="Site {site}   Device {device}   Crosswalk {crosswalk}   Direction {origin} → {target}",
    entry="Entry {time}   Track {track}",
    signal="Signal {group}: {state} at entry, {since} since DON'T WALK began",
    since_unknown="unknown",
    signal_states={},  # the state's own name
    event="Event {event}",
    software="crossguard {version}   Model {model}   {sync}",
    synced="NTP synced",
    not_synced="not NTP synced",
    clock_unknown="clock ?",
    offset=", offset {ms:+.1f} ms",
)
CHINESE = SheetText(
    pictures={"1_curb": "1 路边", "2_entry": "2 进入人行横道", "3_inside": "3 人行横道内"},
    closeup="特写",
    ids="站点 {site}   设备 {device}   人行横道 {crosswalk}   方向 {origin} → {target}",
    entry="进入时间 {time}   轨迹 {track}",
    signal="信号灯 {group}：进入时 {state}，禁止通行开始后 {since}",
    since_unknown="未知",
    signal_states={"DONT_WALK": "禁止通行", "WALK": "通行", "CLEARANCE": "清空", "UNKNOWN": "未知"},
    event="事件 {event}",
    software="crossguard {version}   模型 {model}   {sync}",
    synced="NTP 已同步",
    not_synced="NTP 未同步",
    clock_unknown="时钟状态未知",
    offset="，偏差 {ms:+.1f} ms",
)
LANGUAGES = {"en": ENGLISH, "zh-CN": CHINESE}


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """A font file with CJK glyphs: the Debian packages' paths, else whatever fontconfig lists for zh-cn."""
    for path in CJK_FONT_CANDIDATES:
        if Path(path).exists():
            return path
    if shutil.which("fc-list") is None:
        return None
    try:
        listed = subprocess.run(["fc-list", ":lang=zh-cn", "file"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.strip().rstrip(":") for line in listed.splitlines() if line.strip())
    return files[0] if files else None


def sheet_text(language: str) -> tuple[SheetText, str | None]:
    """The texts for ``language`` and the font to draw them with (None: Pillow's default choice)."""
    if language == "en":
        return ENGLISH, None
    font = cjk_font()
    if font is None:
        _warn_no_font(language)
        return ENGLISH, None
    return LANGUAGES[language], font


@cache
def _warn_no_font(language: str) -> None:
    log.error(
        "evidence.language is %s but no font with Chinese glyphs is installed (apt install fonts-noto-cjk): "
        "evidence sheets are written in English",
        language,
    )
