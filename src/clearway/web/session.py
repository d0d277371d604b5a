"""Who is signed in to the workspace, and the templates pages render with.

The session cookie is HttpOnly and SameSite=Strict, and Secure when the
request came over HTTPS; every form that changes something also carries
the session's CSRF token, checked here. The sign-in form, before any
session, carries a token of its own that must match a cookie set with the
form (double submit): another site cannot sign a browser in to an account
of its choosing."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from clearway.errors import ClearwayError, ErrorDetail, Forbidden, InputError
from clearway.store.users import WebUser, session_user

if TYPE_CHECKING:
    # Not at run time: clearway.api imports this package to mount it.
    from clearway.api.context import Context

__all__ = [
    "COOKIE",
    "SIGN_IN_COOKIE",
    "Officer",
    "SignInRequired",
    "check_csrf",
    "context_of",
    "is_https",
    "read_form",
    "set_sign_in_cookie",
    "sign_in_token",
    "sign_in_token_matches",
    "templates",
]

COOKIE = "clearway_session"
SIGN_IN_COOKIE = "clearway_signin"

templates = Jinja2Templates(
    directory=str(Path(str(resources.files("clearway.web").joinpath("templates"))))
)


class SignInRequired(ClearwayError):
    """A workspace page asked for without a current session."""

    code = "sign_in"
    status = 303


async def read_form(request: Request) -> FormData:
    """The posted form; a NUL character in any field is refused (400, the
    field named) before anything reaches the store: PostgreSQL text cannot
    hold one, and no form of the workspace has a use for it."""
    form = await request.form()
    for name, value in form.multi_items():
        if isinstance(value, str) and "\x00" in value:
            problem = "must not contain the NUL character (\\u0000)"
            raise InputError(
                f"{name}: {problem}", details=[ErrorDetail(name, "nul_character", problem)]
            )
    return form


def context_of(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


def _officer(request: Request) -> WebUser:
    user = session_user(context_of(request).store, request.cookies.get(COOKIE), datetime.now(UTC))
    if user is None:
        raise SignInRequired("sign in to use the workspace")
    return user


Officer = Annotated[WebUser, Depends(_officer)]


def check_csrf(user: WebUser, form: Any, *, act: bool = True) -> None:
    """Refuse a form without this session's token, or an action by an analyst."""
    token = str(form.get("csrf", ""))
    if not hmac.compare_digest(token, user.csrf):
        raise Forbidden("the form is stale or not from this workspace; reload the page")
    if act and not user.may_act:
        raise Forbidden(f"role {user.role} may read but not decide")


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS: the connection says so, or
    (with ``trust_forwarded_proto``) the reverse proxy in front does."""
    if request.url.scheme == "https":
        return True
    if not context_of(request).settings.trust_forwarded_proto:
        return False
    forwarded = request.headers.get("x-forwarded-proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"


def sign_in_token(request: Request) -> str:
    """The sign-in form's token: the browser's current one, or a new one."""
    token = request.cookies.get(SIGN_IN_COOKIE, "")
    return token if len(token) == 43 else secrets.token_urlsafe(32)


def set_sign_in_cookie(request: Request, response: Response, token: str) -> None:
    """Send the sign-in form's token as the cookie it is checked against."""
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path="/signin",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def sign_in_token_matches(request: Request, form: Any) -> bool:
    """Whether a sign-in form carries the token of the cookie set with it."""
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(str(form.get("csrf", "")), cookie)
