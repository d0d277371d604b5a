"""Who is signed in to the workspace, and the templates pages render with.

The session cookie is HttpOnly and SameSite=Strict; every form that changes
something also carries the session's CSRF token, checked here."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from clearway.errors import ClearwayError, Forbidden
from clearway.store.users import WebUser, session_user

if TYPE_CHECKING:
    # Not at run time: clearway.api imports this package to mount it.
    from clearway.api.context import Context

__all__ = [
    "COOKIE",
    "Officer",
    "SignInRequired",
    "check_csrf",
    "context_of",
    "templates",
]

COOKIE = "clearway_session"

templates = Jinja2Templates(
    directory=str(Path(str(resources.files("clearway.web").joinpath("templates"))))
)


class SignInRequired(ClearwayError):
    """A workspace page asked for without a current session."""

    code = "sign_in"
    status = 303


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
