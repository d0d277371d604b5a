"""The HTTP API (FastAPI); `clearway serve` runs it."""

from clearway.api.app import create_app

__all__ = ["create_app"]
