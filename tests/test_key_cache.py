"""API keys are checked against the store once per key every few seconds,
not on every request; a revoked key is refused at most that much later."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from clearway.api import create_app
from clearway.settings import Settings
from clearway.store import open_engine
from clearway.store.participants import add_participant, revoke_key


def _client(tmp_path: Path, seconds: float) -> tuple[TestClient, Engine]:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = open_engine(url)
    settings = Settings(
        database_url=url,
        key_dir=str(tmp_path / "keys"),
        classifier_model_file=str(tmp_path / "none.npz"),
        risk_model_file=str(tmp_path / "none.json"),
        api_key_cache_s=seconds,
    )
    return TestClient(create_app(settings, engine=engine)), engine


@pytest.mark.parametrize("seconds", [0.0, 1.5])
def test_a_revoked_key_is_refused_within_the_cache_time(tmp_path: Path, seconds: float) -> None:
    client, engine = _client(tmp_path, seconds)
    issued = add_participant(engine, "Shop", "marketplace", filer_id="mkt-1")
    headers = {"Authorization": f"Bearer {issued.key}"}
    assert client.get("/api/referrals", headers=headers).status_code == 200
    revoke_key(engine, issued.key_id)
    revoked_at = time.monotonic()
    first = client.get("/api/referrals", headers=headers)
    if seconds == 0:
        assert first.status_code == 401
        return
    # Trusted for the cache time (a revocation is honoured within it)...
    assert time.monotonic() - revoked_at < seconds
    assert first.status_code == 200
    time.sleep(seconds + 0.1)
    # ...then asked again, and refused.
    answer = client.get("/api/referrals", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["message"] == "this API key was revoked"


def test_bad_keys_are_never_cached(tmp_path: Path) -> None:
    client, _ = _client(tmp_path, 60)
    for n in range(3):
        bad = {"Authorization": f"Bearer cw_{n:012d}_nothing"}
        assert client.get("/api/referrals", headers=bad).status_code == 401
    context = client.app.state.context  # type: ignore[attr-defined]
    assert context.keys._known == {}
