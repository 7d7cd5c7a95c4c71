"""Logging in and out, as a form for people and as JSON for scripts."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from edge.users import MAX_PASSWORD_LENGTH, User
from edge.web.app import WebState, web_state
from edge.web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, current_session, printable, tokens_match
from edge.web.i18n import LANG_COOKIE, LANGUAGES, N_, Text, translate
from edge.web.routes.table import Routes

log = logging.getLogger(__name__)
router = Routes()
State = Annotated[WebState, Depends(web_state)]


class LoginRequest(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=MAX_PASSWORD_LENGTH)


class Me(BaseModel):
    name: str
    role: str
    csrf_token: str


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not bounce the user to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _check_credentials(state: WebState, request: Request, name: str, password: str) -> User:
    address = request.client.host if request.client else "unknown"
    wait = state.limiter.retry_after(address, name)
    if wait is not None:
        seconds = f"{wait:.0f}"
        refusal = Text("too many failed logins; try again in {wait} s", wait=seconds)
        raise HTTPException(429, refusal, {"Retry-After": seconds})
    user = state.users.authenticate(name, password)
    if user is None:
        blocked = state.limiter.failed(address, name)
        log.warning(
            "web login failed for %r from %s%s",
            printable(name),
            address,
            f"; further attempts refused for {state.config.login_window_s:.0f} s" if blocked else "",
        )
        raise HTTPException(401, N_("wrong name or password"))
    state.limiter.succeeded(address, name)
    log.info("web login: %s (%s) from %s", user.name, user.role.value, address)
    return user


def _open_session(state: WebState, user: User, response: Response) -> str:
    token, session = state.users.open_session(user, state.config.session_hours * 3600)
    state.cookies.set_session(response, token, session.csrf_token)
    return session.csrf_token


def _first_run(state: WebState) -> str | None:
    """The command that creates the first admin, when the box has no account yet; else None."""
    if state.users.list():
        return None
    return f"crossguard users add NAME --role admin --site {state.context.site_path}"


@router.get("/language/{code}", name="set_language", include_in_schema=False)
def set_language(code: str, request: Request, next: str = "/") -> Response:
    """The header's language switch: remember the choice in a cookie, back to the page it came from."""
    if code not in LANGUAGES:
        raise HTTPException(404, f"no such language: {code} (have {', '.join(LANGUAGES)})")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/login", name="login_page", include_in_schema=False)
def login_page(request: Request, state: State, next: str = "/") -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = state.render(
        request, "login.html", csrf_token=token, next=_safe_next(next), error=None, first_run=_first_run(state)
    )
    state.cookies.set_login_csrf(response, token)
    return response


@router.post("/login", name="login_form", include_in_schema=False)
def login_form(
    request: Request,
    state: State,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    if not tokens_match(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise HTTPException(403, Text("the login form expired; reload the page and try again"))
    try:
        user = _check_credentials(state, request, name, password)
    except HTTPException as exc:
        page = state.render(
            request, "login.html", exc.status_code, csrf_token=csrf_token, next=next, error=translate(exc.detail),
            first_run=_first_run(state),
        )
        page.headers.update(exc.headers or {})
        return page
    response = RedirectResponse(_safe_next(next), status_code=303)
    _open_session(state, user, response)
    return response


@router.post("/api/login", name="api_login", response_model=Me, responses={401: {}, 415: {}, 429: {}})
def api_login(body: LoginRequest, request: Request, response: Response, state: State) -> Me:
    """Log in; the session cookie is set and the CSRF token to send as ``X-CSRF-Token`` is returned."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(415, "send the credentials as application/json")
    user = _check_credentials(state, request, body.name, body.password)
    csrf = _open_session(state, user, response)
    return Me(name=user.name, role=user.role.value, csrf_token=csrf)


@router.post("/logout", name="logout", include_in_schema=False)
def logout(request: Request, state: State) -> Response:
    state.users.close_session(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    state.cookies.clear_session(response)
    return response


@router.post("/api/logout", name="api_logout", status_code=204, responses={401: {}, 403: {}})
def api_logout(request: Request, state: State) -> Response:
    state.users.close_session(request.cookies.get(SESSION_COOKIE, ""))
    response = Response(status_code=204)
    state.cookies.clear_session(response)
    return response


@router.get("/api/me", name="api_me", response_model=Me, responses={401: {}})
def api_me(request: Request) -> Me:
    session = current_session(request)
    return Me(name=session.user.name, role=session.user.role.value, csrf_token=session.csrf_token)
