"""The one error tree of clearway.

Every error the library raises on purpose is a :class:`ClearwayError`. It
carries a stable ``code`` (for programs), a ``message`` (for people) and a
``diagnostics()`` text saying what to do about it. The CLI catches the root
once and prints it; the API maps it to the one JSON error shape
``{"ok": false, "errors": [{"code", "field", "message"}], "status"}``.

::

    ClearwayError
    ├── ConfigurationError       bad setting, bad data file shipped or supplied
    ├── InputError               a file or record could not be read at all
    │   └── ValidationFailed     a record was read but breaks the rules (has details)
    ├── StoreError               the database refused or is not reachable
    ├── NotAuthenticated         no valid API key (401)
    ├── Forbidden                the caller's role may not do this (403)
    ├── Conflict                 the request contradicts the current state (409)
    ├── NotFound                 a declaration, filing or resource does not exist
    ├── Overloaded               the intake queue is full: retry after a while (429)
    │   └── TooManyAttempts      too many failed sign-ins: locked out for a while (429)
    └── RemoteError              another node refused or could not be reached (502)

Validation problems about one field are :class:`ErrorDetail` values, never
exceptions: a declaration collects all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ClearwayError",
    "ConfigurationError",
    "Conflict",
    "ErrorDetail",
    "Forbidden",
    "InputError",
    "NotAuthenticated",
    "NotFound",
    "Overloaded",
    "RemoteError",
    "StoreError",
    "TooManyAttempts",
    "ValidationFailed",
    "format_value",
]


def format_value(value: Any, limit: int = 80) -> str:
    """Render a received value for an error message, shortened if long."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One problem with one field: where, which rule, and what was received.

    ``field`` is a path such as ``items[2].hs_code`` (empty for the whole
    record); ``code`` is a stable machine-readable rule name.
    """

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ClearwayError(Exception):
    """Root of every error clearway raises on purpose."""

    code = "error"
    status = 500

    def __init__(self, message: str, *, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[ErrorDetail] = list(details or [])

    def diagnostics(self) -> str:
        """What the user can do about it; subclasses say more."""
        return self.message

    def errors(self) -> list[dict[str, str]]:
        """The ``errors`` list of the JSON error shape."""
        if self.details:
            return [d.as_dict() for d in self.details]
        return [{"code": self.code, "field": "", "message": self.message}]

    def as_json(self) -> dict[str, Any]:
        """The one JSON error shape used by every edge."""
        return {"ok": False, "errors": self.errors(), "status": self.status}


class ConfigurationError(ClearwayError):
    """A setting or a data file (vague terms, regimes, rules) is wrong."""

    code = "configuration"
    status = 500

    def diagnostics(self) -> str:
        return f"{self.message}\nFix the named setting or file and run the command again."


class InputError(ClearwayError):
    """A file or record could not be read at all (not JSON, truncated CSV...)."""

    code = "input"
    status = 400

    def diagnostics(self) -> str:
        return f"{self.message}\nCheck the file's format (see docs/intake.md)."


class ValidationFailed(InputError):
    """A record was read but breaks the rules; ``details`` lists every problem."""

    code = "validation"
    status = 422

    def diagnostics(self) -> str:
        lines = [self.message, *(f"  - {d}" for d in self.details)]
        return "\n".join(lines)


class StoreError(ClearwayError):
    """The database could not be reached or refused a write."""

    code = "store"
    status = 503

    def diagnostics(self) -> str:
        return (
            f"{self.message}\nCheck CLEARWAY_DATABASE_URL and that the database is "
            "reachable; run `clearway db upgrade` if the schema is out of date."
        )


class NotAuthenticated(ClearwayError):
    """The request carries no valid API key (missing, unknown, expired, revoked)."""

    code = "unauthenticated"
    status = 401

    def diagnostics(self) -> str:
        return f"{self.message}\nSend 'Authorization: Bearer <API key>' with a current key."


class Forbidden(ClearwayError):
    """The caller is known but its role may not do this."""

    code = "forbidden"
    status = 403

    def diagnostics(self) -> str:
        return f"{self.message}\nThe data-sharing policy decides what each role may do."


class Conflict(ClearwayError):
    """The request contradicts the current state (answering a closed referral)."""

    code = "conflict"
    status = 409


class NotFound(ClearwayError):
    """The thing asked for does not exist (or the caller may not know it does)."""

    code = "not_found"
    status = 404


class Overloaded(ClearwayError):
    """The bounded intake queue is full: the caller retries after
    ``retry_after`` seconds instead of the queue growing without limit."""

    code = "overloaded"
    status = 429

    def __init__(
        self,
        message: str,
        *,
        retry_after: int = 1,
        details: list[ErrorDetail] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after

    def diagnostics(self) -> str:
        return f"{self.message}\nRetry after {self.retry_after} s."


class TooManyAttempts(Overloaded):
    """Too many failed sign-ins for a user name or from an address: refused,
    without checking the password, for ``retry_after`` seconds."""

    code = "too_many_attempts"

    def diagnostics(self) -> str:
        return f"{self.message}\nWait {self.retry_after} s before signing in again."


class RemoteError(ClearwayError):
    """Another node refused a request or could not be reached."""

    code = "remote"
    status = 502

    def diagnostics(self) -> str:
        return f"{self.message}\nCheck the other node's URL and that it is serving."
