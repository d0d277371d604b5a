"""Property-based API testing with schemathesis against /openapi.json:
whatever the requests, no 5xx and every answer matches the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from clearway.api import create_app
from clearway.settings import Settings
from clearway.store import open_engine
from clearway.store.participants import add_participant


@pytest.fixture(scope="module")
def app_and_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict[str, str]]:
    folder: Path = tmp_path_factory.mktemp("schema")
    url = f"sqlite:///{folder / 'clearway.db'}"
    engine = open_engine(url)
    keys = {
        "officer": add_participant(engine, "officer", "customs_officer").key,
        # A filer's key reaches what an officer's does not: the submit
        # parser, the filer's own statuses and referrals.
        "filer": add_participant(engine, "Market", "marketplace", filer_id="mkt-1").key,
    }
    settings = Settings(
        database_url=url,
        ledger_key_file=str(folder / "ledger.key"),
        classifier_model_file=str(folder / "none.npz"),
        risk_model_file=str(folder / "none.json"),
        # Accepted filings are queued; nothing here waits for the lanes.
        decision_wait_ms=0,
    )
    return create_app(settings, engine=engine), keys


@pytest.mark.parametrize("role", ["officer", "filer"])
def test_no_server_errors_and_schema_conformance(
    app_and_keys: tuple[object, dict[str, str]], role: str
) -> None:
    app, keys = app_and_keys
    key = keys[role]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {key}"},
                # The schema cannot say everything a filing must be (codes
                # from lists, totals that add up, dates near receipt): a
                # schema-valid filing may well get its 422 naming the field.
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )

        run()
