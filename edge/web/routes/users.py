"""Account management for admins: add, change role, disable or enable, reset password, delete.

The first admin comes from ``crossguard users add``. No change may leave the box without an
enabled admin (409). Each change is kept in the account audit with the admin's name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge.users import (
    MAX_PASSWORD_LENGTH,
    NAME_PATTERN,
    AccountAction,
    AccountChange,
    LastAdmin,
    NoSuchUser,
    Role,
    User,
    UserError,
)
from edge.web import i18n
from edge.web.app import WebState, web_state
from edge.web.auth import SESSION_COOKIE, current_session
from edge.web.routes.table import Routes

router = Routes()
State = Annotated[WebState, Depends(web_state)]
UserName = Annotated[str, Path(max_length=64, description="The account's login name")]
READ: dict[int | str, dict[str, object]] = {401: {}, 403: {}}
REFUSALS: dict[int | str, dict[str, object]] = {**READ, 404: {}, 409: {}, 422: {}}
AUDIT_ROWS = 50


class UserOut(BaseModel):
    name: str
    role: Role
    created_utc: float
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(name=user.name, role=user.role, created_utc=user.created_utc, disabled=user.disabled)


# Name and password rules are checked by the account store, which says what is wrong in words
# ("user name 'a b' must be 1-64 letters, ..."); a schema pattern would only say "should match pattern".
class NewUser(BaseModel):
    name: str = Field(..., max_length=64, description=f"login name, {NAME_PATTERN}")
    role: Role
    password: str = Field(..., max_length=MAX_PASSWORD_LENGTH)


class NewRole(BaseModel):
    role: Role


class Disabled(BaseModel):
    disabled: bool = Field(..., description="true: no login, and the account's sessions end at once")


class NewPassword(BaseModel):
    password: str = Field(..., max_length=MAX_PASSWORD_LENGTH)


class ChangeOut(BaseModel):
    utc: float
    actor: str
    action: AccountAction
    target: str
    detail: str

    @classmethod
    def of(cls, change: AccountChange) -> ChangeOut:
        return cls(utc=change.utc, actor=change.actor, action=change.action, target=change.target, detail=change.detail)


def web_actor(request: Request) -> str:
    return f"{current_session(request).user.name} (web)"


def refused(exc: UserError) -> HTTPException:
    """404 for an unknown account, 409 for a change that would leave no admin, else 422."""
    status = 404 if isinstance(exc, NoSuchUser) else 409 if isinstance(exc, LastAdmin) else 422
    return HTTPException(status, i18n.translate(exc, exc.template, exc.values))


@router.get("/users", name="users_page", include_in_schema=False)
def users_page(request: Request, state: State) -> Response:
    return state.render(
        request,
        "users.html",
        users=state.users.list(),
        role_names=[r.value for r in Role],
        changes=state.users.changes(AUDIT_ROWS),
    )


@router.get("/api/users", name="api_users", response_model=list[UserOut], responses=READ)
def api_users(state: State) -> list[UserOut]:
    return [UserOut.of(u) for u in state.users.list()]


@router.post("/api/users", name="api_users_add", response_model=UserOut, status_code=201, responses=REFUSALS)
def api_users_add(body: NewUser, request: Request, state: State) -> UserOut:
    try:
        return UserOut.of(state.users.add(body.name, body.role, body.password, by=web_actor(request)))
    except UserError as exc:
        raise refused(exc) from None


@router.put("/api/users/{name}/role", name="api_users_role", response_model=UserOut, responses=REFUSALS)
def api_users_role(name: UserName, body: NewRole, request: Request, state: State) -> UserOut:
    """A new role, in force from the account's next request."""
    try:
        return UserOut.of(state.users.set_role(name, body.role, by=web_actor(request)))
    except UserError as exc:
        raise refused(exc) from None


@router.put("/api/users/{name}/disabled", name="api_users_disabled", response_model=UserOut, responses=REFUSALS)
def api_users_disabled(name: UserName, body: Disabled, request: Request, state: State) -> UserOut:
    """Disable (no login; its sessions end at once) or enable an account."""
    try:
        return UserOut.of(state.users.set_disabled(name, body.disabled, by=web_actor(request)))
    except UserError as exc:
        raise refused(exc) from None


@router.put("/api/users/{name}/password", name="api_users_password", status_code=204, responses=REFUSALS)
def api_users_password(name: UserName, body: NewPassword, request: Request, state: State) -> Response:
    """Reset the password; the account's sessions end (an admin resetting their own keeps this one)."""
    try:
        state.users.set_password(
            name, body.password, by=web_actor(request), keep_session=request.cookies.get(SESSION_COOKIE)
        )
    except UserError as exc:
        raise refused(exc) from None
    return Response(status_code=204)


@router.delete("/api/users/{name}", name="api_users_delete", status_code=204, responses=REFUSALS)
def api_users_delete(name: UserName, request: Request, state: State) -> Response:
    """Remove the account; its sessions end at once."""
    try:
        state.users.delete(name, by=web_actor(request))
    except UserError as exc:
        raise refused(exc) from None
    return Response(status_code=204)


@router.get("/api/users/changes", name="api_users_changes", response_model=list[ChangeOut], responses=READ)
def api_users_changes(state: State) -> list[ChangeOut]:
    """The account audit, newest first: who added, re-roled, disabled, enabled, deleted or reset which account."""
    return [ChangeOut.of(c) for c in state.users.changes(AUDIT_ROWS)]
