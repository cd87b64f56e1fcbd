"""Staff login: ``POST /api/auth/login``, ``POST /api/auth/logout``, ``GET /api/auth/me``.

Login answers the token (API clients send it as ``Authorization: Bearer …``)
and sets it as an HttpOnly, SameSite=Strict cookie for the web consoles, so
page scripts never hold it and other sites cannot post with it. Citizens never
log in: the chat, the pages and WeChat stay anonymous. Attempts are counted per
username and per address (``login_attempts_per_minute``) before the password
is checked: guessing is slowed, and argon2's cost can't be used to load the
server.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from accounts.errors import InvalidCredentials
from service.deps import SESSION_COOKIE, AccountsDep, CurrentAccount, SettingsDep, session_token

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    roles: list[str]


class AccountOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]


@router.post("/login", response_model=LoginOut, responses={401: {"description": "username or password is wrong"}})
def login(body: LoginIn, request: Request, response: Response, accounts: AccountsDep,
          settings: SettingsDep) -> LoginOut:
    address = request.client.host if request.client else "unknown"
    # both counted on every attempt: one username guessed from many addresses, or many from one (an address
    # gets more: a hall's staff may share one behind its gateway)
    user_ok = request.app.state.login_limit.allow(f"login:user:{body.username.strip().lower()}")
    address_ok = request.app.state.login_address_limit.allow(f"login:ip:{address}")
    if not (user_ok and address_ok):
        logger.warning("login attempts over the limit for %s from %s", body.username[:60], address)
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "登录尝试过于频繁，请一分钟后再试。",
                            headers={"Retry-After": "60"})
    ttl = timedelta(minutes=settings.session_ttl_minutes)
    try:
        token, expires_at = accounts.login(body.username, body.password, ttl=ttl)
    except InvalidCredentials as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(ttl.total_seconds()), path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )
    return LoginOut(token=token, expires_at=expires_at, roles=list(accounts.get(body.username).roles))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(token: Annotated[str | None, Depends(session_token)], accounts: AccountsDep) -> Response:
    """Ends the session the request carries (if any) and clears the cookie; logging out twice is fine."""
    if token:
        accounts.logout(token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/me", response_model=AccountOut)
def me(account: CurrentAccount) -> AccountOut:
    return AccountOut(username=account.username, display_name=account.display_name, roles=list(account.roles))
