"""Fixtures: real SQLite files and a real PostgreSQL 15, one database per
xdist worker, emptied between tests; the environment cleared of CLEARWAY_*."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from clearway.store import open_engine
from clearway.store.schema import metadata

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PG_URL = os.environ.get("CLEARWAY_TEST_POSTGRES_URL", "")
# Keeps two checkouts testing against one server at once (two working trees,
# say) out of each other's databases.
DB_TAG = os.environ.get("CLEARWAY_TEST_DB_TAG", "")
# Keys go to the user's data folder by default: the tests (and the servers
# and CLIs they start, which inherit this) never touch the real one.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="clearway-test-data-")
# The fitted built-in HS model is cached in the user's cache folder; one
# folder per user for every test process (and the CLIs they start), so the
# seconds-long fit happens once per change of the classifier, not per process.
os.environ.setdefault(
    "XDG_CACHE_HOME", os.path.join(tempfile.gettempdir(), f"clearway-test-cache-{os.getuid()}")
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CLEARWAY_"):
            monkeypatch.delenv(name)


def _worker_database() -> str:
    """Create (fresh) this worker's database on the test server; return its URL."""
    base = make_url(PG_URL)
    name = f"clearway_test_{DB_TAG}{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    )


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CLEARWAY_TEST_POSTGRES_URL is not set: run the suite with scripts/test")
        pytest.skip("PostgreSQL tests need CLEARWAY_TEST_POSTGRES_URL (scripts/test sets it)")
    return _worker_database()


@pytest.fixture(scope="session")
def _postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = open_engine(postgres_url)
    yield engine
    engine.dispose()


def _empty(engine: Engine) -> None:
    names = ", ".join(t.name for t in reversed(metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store: a SQLite file, then the PostgreSQL server."""
    if request.param == "sqlite":
        engine = open_engine(f"sqlite:///{tmp_path / 'clearway.db'}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("_postgres_engine")
        _empty(engine)
        yield engine


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'clearway.db'}"


@pytest.fixture
def empty_postgres_url(postgres_url: str, _postgres_engine: Engine) -> str:
    """The URL of this worker's PostgreSQL database, migrated and emptied."""
    _empty(_postgres_engine)
    return postgres_url
