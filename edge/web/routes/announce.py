"""Spoken announcements from the devices page: the same checks and audit as the MQTT ``announce`` command."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, Field

from edge.announce import Announcement, AnnounceRefused
from edge.web.app import WebState, web_state
from edge.web.auth import current_session
from edge.web.i18n import Text
from edge.web.routes.table import Routes

router = Routes()
State = Annotated[WebState, Depends(web_state)]


class AnnounceRequest(BaseModel):
    text: str = Field("", max_length=300, description="Spoken by offline TTS in `language`")
    language: str = Field("en", max_length=16, description="e.g. en, zh-CN")
    wav: str | None = Field(None, max_length=84, description="A recording in actuators.announcements_dir instead")
    urgent: bool = Field(False, description="Played even during quiet hours or while the speakers are muted")


@router.post("/api/announce", name="api_announce", responses={401: {}, 403: {}, 409: {}, 503: {}})
def api_announce(body: AnnounceRequest, request: Request, state: State) -> dict[str, Any]:
    """Queue an announcement on every speaker, ahead of routine prompts; 409 with the reason when refused."""
    desk = state.context.announcements
    if desk is None:
        raise HTTPException(503, Text("announcements are not available on this box"))
    by = f"{current_session(request).user.name} via web"
    try:
        outcome = desk.announce(Announcement(body.text, body.language, body.wav, body.urgent, by, "web"))
    except AnnounceRefused as exc:
        raise HTTPException(409, str(exc)) from None
    return {"speakers": outcome.speakers, "volume": outcome.volume, "by": by}
