from __future__ import annotations

import pytest
from pydantic import ValidationError

from clearway.errors import ConfigurationError
from clearway.settings import Settings
from clearway.store import normalise_url


def test_defaults_without_environment() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///./clearway.db"
    assert settings.workers >= 1


def test_environment_is_read_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARWAY_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("CLEARWAY_BATCH_SIZE", "500")
    settings = Settings()
    assert settings.batch_size == 500
    assert normalise_url(settings.database_url) == "postgresql+psycopg://u@h/db"


def test_bad_setting_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARWAY_BATCH_SIZE", "0")
    with pytest.raises(ValidationError, match="batch_size"):
        Settings()


def test_unsupported_database_url() -> None:
    with pytest.raises(ConfigurationError, match="mysql"):
        normalise_url("mysql://x")
