"""Account management for admins (the first admin comes from ``crossguard users add``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge.users import MAX_PASSWORD_LENGTH, NAME_PATTERN, Role, User, UserError
from edge.web.app import WebState, web_state
from edge.web.routes.table import Routes

router = Routes()
State = Annotated[WebState, Depends(web_state)]


class UserOut(BaseModel):
    name: str
    role: Role
    created_utc: float
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(name=user.name, role=user.role, created_utc=user.created_utc, disabled=user.disabled)


class NewUser(BaseModel):
    name: str = Field(..., pattern=NAME_PATTERN)
    role: Role
    password: str = Field(..., min_length=1, max_length=MAX_PASSWORD_LENGTH)


@router.get("/users", name="users_page", include_in_schema=False)
def users_page(request: Request, state: State) -> Response:
    return state.render(request, "users.html", users=state.users.list(), role_names=[r.value for r in Role])


@router.get("/api/users", name="api_users", response_model=list[UserOut], responses={401: {}, 403: {}})
def api_users(state: State) -> list[UserOut]:
    return [UserOut.of(u) for u in state.users.list()]


@router.post("/api/users", name="api_users_add", response_model=UserOut, status_code=201, responses={401: {}, 403: {}})
def api_users_add(body: NewUser, state: State) -> UserOut:
    try:
        return UserOut.of(state.users.add(body.name, body.role, body.password))
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
