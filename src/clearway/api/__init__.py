"""The HTTP API (FastAPI); `clearway serve` runs it."""

from fastapi import FastAPI

from clearway.api.app import create_app

__all__ = ["app_from_environment", "create_app"]


def app_from_environment() -> FastAPI:
    """The app over the settings in ``CLEARWAY_*`` (what each worker of
    `clearway serve` builds)."""
    from clearway.settings import Settings
    from clearway.store import open_engine

    settings = Settings()
    # `clearway serve` migrated the store before starting the workers.
    return create_app(settings, engine=open_engine(settings.database_url, migrate=False))
