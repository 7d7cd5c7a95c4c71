"""``?camera=<id>`` on pages and API calls that show one camera's picture (a site with several)."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query

from edge.web.app import WebState

CameraQuery = Annotated[
    str | None, Query(max_length=64, description="Camera id on a site with several; default the first")
]


def checked_camera(state: WebState, camera: str | None) -> str | None:
    """The camera asked for, or 404 naming the site's cameras."""
    try:
        return state.context.for_camera(camera)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None


def camera_picture(state: WebState, camera: str | None, raw: bool = False) -> bytes | None:
    return state.context.picture(checked_camera(state, camera), raw)
