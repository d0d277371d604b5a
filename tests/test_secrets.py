"""Secrets at rest: key files outside the tree, owner-only, refused when
others can read them; the SQLite store created owner-only."""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, insert, select, update

from clearway.errors import ConfigurationError, NotAuthenticated
from clearway.federation.sealing import PREFIX, sealer_for
from clearway.federation.webhooks import sign
from clearway.ledger.keys import default_key_dir, key_file, keys_for, witness_key_for
from clearway.settings import Settings
from clearway.store import open_engine
from clearway.store.inbox import add_sender, receive_event, sender_context
from clearway.store.participants import add_participant
from clearway.store.schema import inbound_senders, webhook_subscriptions
from clearway.store.users import session_user
from clearway.store.webhooks import add_subscription, subscription_context
from clearway.web.accounts import add_user, sign_in
from tests import factories as f
from tests.test_cli import clearway

REPOSITORY = Path(__file__).resolve().parents[1]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_no_key_file_is_tracked_and_key_files_are_ignored() -> None:
    if not (REPOSITORY / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "*.key", "*.pem"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert tracked == ""
    ignored = subprocess.run(
        ["git", "check-ignore", "clearway-witness.key", "clearway-ledger.key"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert ignored == ["clearway-witness.key", "clearway-ledger.key"]


def test_keys_are_made_in_the_key_folder_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    settings = Settings(ledger_origin="customs.a.example/log")
    keys_for(settings)
    witness_key_for(settings)
    folder = tmp_path / "data" / "clearway" / "keys"
    assert default_key_dir() == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "ledger-customs.a.example_log.key",
        "witness-customs.a.example_log.key",
    ]
    assert _mode(folder) == 0o700
    assert {_mode(p) for p in folder.iterdir()} == {0o600}
    # Nothing in the current directory (a checkout, often).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_two_origins_on_one_machine_keep_their_own_keys(tmp_path: Path) -> None:
    a = Settings(key_dir=str(tmp_path), ledger_origin="a.example/log")
    b = Settings(key_dir=str(tmp_path), ledger_origin="b.example/log")
    assert key_file(a, "ledger") != key_file(b, "ledger")
    assert keys_for(a).signer.verifier.vkey() != keys_for(b).signer.verifier.vkey()
    assert keys_for(a).secret == keys_for(a).secret  # read back, not remade


def test_a_named_key_file_wins_over_the_folder(tmp_path: Path) -> None:
    settings = Settings(key_dir=str(tmp_path / "dir"), ledger_key_file=str(tmp_path / "x.key"))
    assert key_file(settings, "ledger") == tmp_path / "x.key"
    witness = tmp_path / "dir" / "witness-customs.example_clearway.key"
    assert key_file(settings, "witness") == witness


@pytest.mark.parametrize("kind", ["ledger", "witness"])
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, kind: str, mode: int) -> None:
    settings = Settings(key_dir=str(tmp_path))
    load = keys_for if kind == "ledger" else witness_key_for
    load(settings)
    path = key_file(settings, kind)
    path.chmod(mode)
    with pytest.raises(ConfigurationError) as caught:
        load(settings)
    assert str(caught.value) == (
        f"{path}: key file has mode {mode:04o}, so other users can read it; "
        f"run `chmod 600 {path}` (and replace the key if it may have leaked)"
    )
    path.chmod(0o600)
    load(settings)


def test_the_cli_refuses_to_run_with_a_readable_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    key = tmp_path / "ledger.key"
    settings = {"CLEARWAY_LEDGER_KEY_FILE": str(key)}
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(f.declaration()))
    first = clearway("ingest", str(path), cwd=tmp_path, url=url, settings=settings)
    assert first.returncode == 0, first.stderr
    assert _mode(key) == 0o600
    key.chmod(0o644)
    second = clearway("ledger", "verify", cwd=tmp_path, url=url, settings=settings)
    assert second.returncode == 1
    assert "key file has mode 0644, so other users can read it" in second.stderr


def test_a_new_sqlite_store_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    engine = open_engine(f"sqlite:///{path}")
    engine.dispose()
    assert _mode(path) == 0o600
    wal = tmp_path / "store.db-wal"
    if wal.exists():
        assert _mode(wal) == 0o600


def test_an_existing_sqlite_store_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    open_engine(f"sqlite:///{path}").dispose()
    path.chmod(0o640)
    open_engine(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o640


def test_umask_does_not_widen_new_keys(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        keys_for(Settings(key_dir=str(tmp_path / "k")))
    finally:
        os.umask(old)
    assert {_mode(p) for p in (tmp_path / "k").iterdir()} == {0o600}
    assert _mode(tmp_path / "k") == 0o700


def test_sealed_secrets_open_only_for_their_row_and_key(tmp_path: Path) -> None:
    sealer = sealer_for(Settings(key_dir=str(tmp_path)))
    sealed = sealer.seal("s3cret-" * 8, "webhook_subscriptions:7")
    assert sealed.startswith(PREFIX)
    assert "s3cret" not in sealed
    assert sealer.open(sealed, "webhook_subscriptions:7") == "s3cret-" * 8
    # Same secret, same row: a new nonce, so equal secrets do not show.
    assert sealer.seal("s3cret-" * 8, "webhook_subscriptions:7") != sealed
    with pytest.raises(ConfigurationError, match="does not open"):
        sealer.open(sealed, "webhook_subscriptions:8")
    body = sealed[len(PREFIX) :]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(ConfigurationError, match="does not open"):
        sealer.open(PREFIX + flipped, "webhook_subscriptions:7")
    other = sealer_for(Settings(key_dir=str(tmp_path), ledger_origin="other.example/log"))
    with pytest.raises(ConfigurationError, match="does not open"):
        other.open(sealed, "webhook_subscriptions:7")
    with pytest.raises(ConfigurationError, match="is not sealed"):
        sealer.open("a" * 64, "webhook_subscriptions:7")


def test_the_secrets_key_file_is_owner_only_and_read_back(tmp_path: Path) -> None:
    settings = Settings(key_dir=str(tmp_path))
    sealed = sealer_for(settings).seal("x" * 40, "inbound_senders:peer")
    path = key_file(settings, "secrets")
    assert _mode(path) == 0o600
    assert sealer_for(settings).open(sealed, "inbound_senders:peer") == "x" * 40
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="other users can read it"):
        sealer_for(settings)


def _stored_secrets(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [
            *conn.execute(select(webhook_subscriptions.c.secret)).scalars(),
            *conn.execute(select(inbound_senders.c.secret)).scalars(),
        ]


def test_webhook_and_inbox_secrets_are_stored_sealed(engine: Engine, tmp_path: Path) -> None:
    sealer = sealer_for(Settings(key_dir=str(tmp_path)))
    shop = add_participant(engine, "shop", "marketplace", filer_id="mkt-1")
    now = datetime.now(UTC)
    first, issued = add_subscription(
        engine, shop.participant_id, "https://a.example/", "", now, sealer
    )
    second, _ = add_subscription(engine, shop.participant_id, "https://b.example/", "", now, sealer)
    add_sender(engine, "customs-a", "k" * 40, now, sealer)
    stored = _stored_secrets(engine)
    assert len(stored) == 3
    assert all(s.startswith(PREFIX) for s in stored)
    assert issued not in " ".join(stored)
    assert "k" * 40 not in " ".join(stored)
    assert sealer.open(stored[0], subscription_context(first)) == issued
    # Whoever writes the database cannot give one row another's secret.
    with engine.begin() as conn:
        conn.execute(
            update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id == second)
            .values(secret=stored[0])
        )
    with pytest.raises(ConfigurationError, match="does not open"):
        sealer.open(stored[0], subscription_context(second))


def _settings_env(tmp_path: Path) -> dict[str, str]:
    return {"CLEARWAY_KEY_DIR": str(tmp_path / "keys")}


def test_seal_secrets_seals_what_an_older_version_kept_in_clear(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(inbound_senders).values(
                name="customs-a", secret="k" * 40, created_at=datetime.now(UTC)
            )
        )
    settings = Settings(key_dir=str(tmp_path / "keys"))
    body = b'{"type": "declaration.filed"}'
    now = datetime.now(UTC)
    signature = sign("k" * 40, body, "evt-1", int(now.timestamp()))
    with pytest.raises(ConfigurationError, match="is not sealed; run `clearway db seal-secrets`"):
        receive_event(engine, "customs-a", body, signature, "evt-1", now, sealer_for(settings))
    done = clearway("db", "seal-secrets", cwd=tmp_path, url=url, settings=_settings_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "sealed 1 secrets stored in clear" in done.stdout
    assert receive_event(engine, "customs-a", body, signature, "evt-1", now, sealer_for(settings))
    again = clearway("db", "seal-secrets", cwd=tmp_path, url=url, settings=_settings_env(tmp_path))
    assert "sealed 0 secrets stored in clear" in again.stdout


def test_rotating_the_secrets_key_reseals_every_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = open_engine(url)
    settings = Settings(key_dir=str(tmp_path / "keys"))
    old = sealer_for(settings)
    add_sender(engine, "customs-a", "k" * 40, datetime.now(UTC), old)
    before = _stored_secrets(engine)
    done = clearway(
        "db", "seal-secrets", "--rotate", cwd=tmp_path, url=url, settings=_settings_env(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    assert "re-sealed 1 secrets under a new key" in done.stdout
    after = _stored_secrets(engine)
    assert after != before
    new = sealer_for(settings)
    assert new.open(after[0], sender_context("customs-a")) == "k" * 40
    with pytest.raises(ConfigurationError, match="does not open"):
        old.open(after[0], sender_context("customs-a"))
    assert _mode(key_file(settings, "secrets")) == 0o600
    assert (
        not key_file(settings, "secrets")
        .with_name("secrets-customs.example_clearway.key.next")
        .exists()
    )


def test_users_reset_password_and_disable_end_sessions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = open_engine(url)
    now = datetime.now(UTC)
    first = add_user(engine, "ana", "Ana Officer", "customs_officer", now)
    token = sign_in(engine, "ana", first, now)
    assert session_user(engine, token, now) is not None
    done = clearway("users", "reset-password", "ana", cwd=tmp_path, url=url)
    assert done.returncode == 0, done.stderr
    second = orjson.loads(done.stdout)["password"]
    assert second != first
    assert session_user(engine, token, now) is None, "a reset ends the sessions"
    with pytest.raises(NotAuthenticated):
        sign_in(engine, "ana", first, now)
    token = sign_in(engine, "ana", second, now)
    done = clearway("users", "disable", "ana", cwd=tmp_path, url=url)
    assert done.returncode == 0, done.stderr
    assert session_user(engine, token, now) is None, "disabling ends the sessions"
    with pytest.raises(NotAuthenticated):
        sign_in(engine, "ana", second, now)
    missing = clearway("users", "disable", "nobody", cwd=tmp_path, url=url)
    assert missing.returncode == 1
    assert "user 'nobody' not found" in missing.stderr
