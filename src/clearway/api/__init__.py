"""The HTTP API (FastAPI); `clearway serve` runs it."""

import gc

from fastapi import FastAPI

from clearway.api.app import create_app

__all__ = ["app_from_environment", "create_app"]


def app_from_environment() -> FastAPI:
    """The app over the settings in ``CLEARWAY_*`` (what each worker of
    `clearway serve` builds)."""
    from clearway.observability import configure_logging
    from clearway.settings import Settings
    from clearway.store import open_engine

    settings = Settings()
    # Each worker process sets up its own logging: workers are new processes.
    configure_logging(settings.log_level)
    # `clearway serve` migrated the store before starting the workers.
    app = create_app(settings, engine=open_engine(settings.database_url, migrate=False))
    # What is loaded by now (modules, settings, the stages' files) lives as
    # long as the process. Frozen, a full collection no longer walks it:
    # such a pass stops every thread, the event loop's too (90 ms over this
    # heap on a busy 2-core machine: the longest stalls /api/health showed
    # while a list of 2,000 declarations was decided).
    gc.collect()
    gc.freeze()
    return app
