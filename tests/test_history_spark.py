"""The history jobs on Apache Spark (local mode, one session shared by the
module: it takes 10-25 s to start) give exactly what the single-machine path
gives: from Parquet to Parquet, from PostgreSQL to PostgreSQL, and the rows
a model trains on."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clearway.history.rescoring import HistoryConfig
from clearway.history.runs import History, labelled_history_frame, rescore_history
from clearway.store.history import StoreHistory
from tests.test_cli import clearway
from tests.test_history import (
    DAYS,
    PER_DAY,
    build_history,
    last_json,
    parquet_rescored,
    stored_rescored,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytest.importorskip("pyspark", reason="Spark tests need pyspark: pip install 'clearway[spark]'")
if shutil.which("java") is None:
    pytest.skip("Spark tests need Java 17 or newer on PATH", allow_module_level=True)

# Every Spark test runs in the xdist worker that holds the session.
pytestmark = pytest.mark.xdist_group("spark")

CONFIG = HistoryConfig(as_of=date(2026, 11, 24))


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    from clearway.history.spark import spark_session

    session = spark_session(cores=2, memory="1g")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A simulated store (SQLite) and its Parquet export."""
    folder = tmp_path_factory.mktemp("spark-history")
    url = f"sqlite:///{folder / 'clearway.db'}"
    build_history(folder, url)
    done = clearway("history", "export", str(folder / "hist"), cwd=folder, url=url)
    assert done.returncode == 0, done.stderr
    return folder, url


def test_spark_rescores_parquet_as_one_machine_does(
    spark: SparkSession, exported: tuple[Path, str]
) -> None:
    folder, _ = exported
    source = History(parquet=folder / "hist")
    local = rescore_history(source, History(parquet=folder / "local"), CONFIG)
    remote = rescore_history(source, History(parquet=folder / "spark"), CONFIG, spark=spark)
    assert remote.engine == "spark"
    assert (remote.days, remote.declarations) == (DAYS, DAYS * PER_DAY)
    assert remote.lanes == local.lanes
    spark_rows = parquet_rescored(folder / "spark")
    assert spark_rows.num_rows == DAYS * PER_DAY
    assert spark_rows.equals(parquet_rescored(folder / "local"))
    # --since re-scores only the days from then, and leaves the others.
    last = max(spark_rows.column("day").to_pylist())
    again = rescore_history(
        source, History(parquet=folder / "spark"), CONFIG, since=last, spark=spark
    )
    assert (again.days, again.declarations) == (1, PER_DAY)
    assert parquet_rescored(folder / "spark").equals(spark_rows)


@pytest.mark.postgres
def test_spark_reads_and_writes_postgresql(
    spark: SparkSession, exported: tuple[Path, str], empty_postgres_url: str
) -> None:
    folder, _ = exported
    postgres_url = empty_postgres_url
    build_history(folder, postgres_url)
    store = History(store=StoreHistory(postgres_url))
    remote = rescore_history(store, store, CONFIG, spark=spark)
    assert (remote.days, remote.declarations) == (DAYS, DAYS * PER_DAY)
    from_spark = stored_rescored(postgres_url)
    local = rescore_history(store, store, CONFIG)
    assert local.lanes == remote.lanes
    assert stored_rescored(postgres_url).equals(from_spark)
    # The same declarations from the SQLite store's export: same lanes.
    rescore_history(History(parquet=folder / "hist"), History(parquet=folder / "pg"), CONFIG)
    assert from_spark.equals(parquet_rescored(folder / "pg"))


def test_spark_training_rows_match_one_machine(
    spark: SparkSession, exported: tuple[Path, str]
) -> None:
    folder, url = exported
    for source in (History(parquet=folder / "hist"), History(store=StoreHistory(url))):
        local = labelled_history_frame(source, CONFIG)
        remote = labelled_history_frame(source, CONFIG, spark=spark)
        assert len(remote.labels) == DAYS * PER_DAY
        assert (remote.labels == local.labels).all()
        assert (remote.dates == local.dates).all()
        for name, values in local.frame.items():
            assert (remote.frame[name] == values).all(), name


def test_cli_trains_on_spark(exported: tuple[Path, str], spark: SparkSession) -> None:
    """`clearway risk train --engine spark` starts its own session (the
    module's is this process's) and trains the model the local path trains."""
    folder, url = exported
    local = clearway("risk", "train", "--output", "local.json", cwd=folder, url=url)
    remote = clearway(
        "risk", "train", "--engine", "spark", "--cores", "1", "--output", "spark.json",
        cwd=folder, url=url,
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    assert last_json(remote)["recent_metrics"] == last_json(local)["recent_metrics"]
    assert last_json(remote)["rows"] == DAYS * PER_DAY
