"""PostgreSQL's declarations partitioned by month of receipt: months made
ahead, late months taken out of the default partition, queries over a
period reading only its months, and one current version per key kept by
the writers' locks under concurrent writers."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from clearway.store import write_batch
from clearway.store.partitions import (
    DEFAULT_PARTITION,
    maintain_partitions,
    month_partition,
    partitions,
)
from clearway.store.reading import get_declaration
from clearway.store.schema import declarations
from tests import factories as f
from tests.test_cli import clearway
from tests.test_store import raw

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(_postgres_engine: Engine, empty_postgres_url: str) -> Engine:
    return _postgres_engine


def _months_ahead(n: int) -> list[str]:
    month = datetime.now(UTC).date().replace(day=1)
    names = []
    for _ in range(n + 1):
        names.append(month_partition(month))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return names


def test_the_store_is_partitioned_by_month_with_months_ahead(pg: Engine) -> None:
    with pg.connect() as conn:
        names = [name for name, _ in partitions(conn)]
    assert names[-1] == DEFAULT_PARTITION
    assert set(_months_ahead(3)) <= set(names)


def test_a_late_month_is_moved_out_of_the_default_partition(pg: Engine) -> None:
    old = datetime(2024, 3, 15, 12, tzinfo=UTC)
    docs = [f.declaration() for _ in range(3)]
    write_batch(pg, _prepared(*docs), received_at=old)
    with pg.connect() as conn:
        in_default = conn.execute(text(f"SELECT count(*) FROM {DEFAULT_PARTITION}")).scalar()
    assert in_default == 3
    created, found = maintain_partitions(pg, date(2024, 3, 1), months_ahead=3)
    assert created[0] == "declarations_y2024m03"
    # Every month from then to three months ahead now exists.
    assert len(created) >= 30
    with pg.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {DEFAULT_PARTITION}")).scalar() == 0
        moved = conn.execute(text("SELECT count(*) FROM declarations_y2024m03")).scalar()
    assert moved == 3
    # Nothing lost, nothing doubled, and reads find them as before.
    assert get_declaration(pg, docs[0]["declaration_id"]).version == 1
    with pg.connect() as conn:
        assert conn.execute(select(func.count()).select_from(declarations)).scalar() == 3
    # Running it again creates nothing.
    assert maintain_partitions(pg, date(2024, 3, 1), months_ahead=3)[0] == []
    assert found[0][0] == "declarations_y2024m03"


def test_a_period_reads_only_its_months(pg: Engine) -> None:
    write_batch(pg, _prepared(f.declaration()))
    this_month = datetime.now(UTC).date().replace(day=1)
    with pg.connect() as conn:
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                text("EXPLAIN SELECT count(*) FROM declarations WHERE received_at >= :lo"),
                {"lo": datetime(this_month.year, this_month.month, 1, tzinfo=UTC)},
            )
        )
    assert month_partition(this_month) in plan
    assert "declarations_y2024" not in plan
    assert DEFAULT_PARTITION in plan  # the default may hold any month


def _prepared(*docs: dict[str, object]):  # type: ignore[no-untyped-def]
    from clearway.declarations.batch import prepare_batch

    return prepare_batch(raw(*docs))


def test_concurrent_writers_keep_one_current_version_per_key(pg: Engine) -> None:
    """Eight writers amend the same ten declarations at once: each key ends
    with versions 1..n, no gap, no duplicate, exactly one current."""
    base = [f.declaration() for _ in range(10)]
    write_batch(pg, _prepared(*base))
    errors: list[BaseException] = []

    def amend(worker: int) -> None:
        try:
            for round_ in range(3):
                name = f"Anna Schmidt {worker}-{round_}"
                docs = [{**doc, "consignee": {**doc["consignee"], "name": name}} for doc in base]
                write_batch(pg, _prepared(*docs))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=amend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with pg.connect() as conn:
        rows = conn.execute(
            select(declarations.c.ref, declarations.c.version, declarations.c.current)
        ).all()
    by_ref: dict[str, list[tuple[int, bool]]] = {}
    for ref, version, current in rows:
        by_ref.setdefault(ref, []).append((version, current))
    assert len(by_ref) == 10
    for versions in by_ref.values():
        numbers = sorted(v for v, _ in versions)
        assert numbers == list(range(1, len(numbers) + 1))
        assert len(numbers) == 1 + 8 * 3
        assert sum(current for _, current in versions) == 1
        assert max(versions)[1] is True


def test_cli_lists_and_creates_partitions(empty_postgres_url: str, tmp_path: Path) -> None:
    done = clearway("db", "partitions", "--ahead", "5", cwd=tmp_path, url=empty_postgres_url)
    assert done.returncode == 0, done.stderr
    assert _months_ahead(5)[-1] in done.stdout
    bad = clearway("db", "partitions", "--since", "2026-13", cwd=tmp_path, url=empty_postgres_url)
    assert bad.returncode == 2
    assert "must be a month YYYY-MM. Got '2026-13'" in bad.stderr


def test_sqlite_is_not_partitioned(tmp_path: Path) -> None:
    done = clearway("db", "partitions", cwd=tmp_path, url=f"sqlite:///{tmp_path / 'c.db'}")
    assert done.returncode == 0, done.stderr
    assert "not partitioned" in done.stdout
