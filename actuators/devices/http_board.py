"""A board behind a vendor gateway that takes JSON over HTTP."""

from __future__ import annotations

import http.client
import json
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from actuators.base import Command, DeviceError, register
from actuators.board import Board, BoardConfig


class HttpBoardConfig(BoardConfig):
    type: Literal["http_board"] = "http_board"
    url: str = Field(..., description="Endpoint that accepts the JSON message with POST, http:// or https://")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers, e.g. an API token")
    colour: str = Field("red", min_length=1, description="Colour name passed to the gateway")
    mode: str = Field("scroll", min_length=1, description="Display mode name passed to the gateway")

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be http://host[:port]/path or https://..., got {v!r}")
        return v


@register("http_board", HttpBoardConfig)
class HttpBoard(Board):
    """POSTs JSON: board, text, lines, colour, mode, brightness, event_id, crosswalk_id, kind.

    ``kind`` is warn, test or clear (back to ``idle_text``; ``lines`` empty blanks the board).
    Any 2xx answer is success; anything else, or no answer within ``timeout_s``, is a failure.
    """

    config: HttpBoardConfig

    def show(self, lines: list[str], command: Command) -> str:
        cfg = self.config
        text = " / ".join(lines)
        body = json.dumps({
            "board": cfg.name, "text": text, "lines": lines, "colour": cfg.colour, "mode": cfg.mode,
            "brightness": command.level.brightness, "event_id": command.event_id,
            "crosswalk_id": command.crosswalk_id, "kind": command.kind.value,
        }, ensure_ascii=False).encode("utf-8")  # fmt: skip
        parts = urlsplit(cfg.url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(parts.hostname, parts.port, timeout=cfg.timeout_s)
        try:
            conn.request("POST", parts.path or "/", body, {"Content-Type": "application/json", **cfg.headers})
            response = conn.getresponse()
            detail = response.read(200).decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            raise DeviceError(f"POST {cfg.url} failed: {type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
        if not 200 <= response.status < 300:
            raise DeviceError(f"POST {cfg.url} answered {response.status}: {detail.strip()[:100]}")
        return text
