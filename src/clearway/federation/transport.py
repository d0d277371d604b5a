"""HTTP to other nodes, with the standard library (no client dependency):
webhook deliveries and witness requests go through :func:`post`."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from clearway.errors import InputError

__all__ = ["Post", "Reply", "post"]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    content_type: str
    body: bytes


# (url, body, headers) -> reply; connection failures raise OSError.
Post = Callable[[str, bytes, dict[str, str]], Reply]


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> Reply:
    """POST ``body`` to ``url``; any HTTP status is a reply, not an error."""
    if not url.startswith(("http://", "https://")):
        raise InputError(f"URLs of other nodes must be http(s). Got {url!r}")
    # The scheme is checked just above: no file: or custom schemes.
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Reply(
                int(response.status), response.headers.get("Content-Type", ""), response.read()
            )
    except urllib.error.HTTPError as exc:
        return Reply(int(exc.code), exc.headers.get("Content-Type", ""), exc.read())
