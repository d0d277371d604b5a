"""Workspace passwords: hashed and checked in clearway.accounts (scrypt,
costs written into each hash); the store keeps the hash and never the
password; an unknown user costs the same hash as a wrong password."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from clearway.accounts import check_password, hash_password, new_password
from clearway.errors import InputError, NotAuthenticated
from clearway.store.schema import web_sessions, web_users
from clearway.store.users import credentials_of, session_user
from clearway.web.accounts import add_user, reset_password, sign_in

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_a_hash_checks_its_password_and_no_other() -> None:
    stored = hash_password("correct horse")
    kind, n, r, p, salt, digest = stored.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "1")
    assert (len(salt), len(digest)) == (24, 44)  # 16 and 32 bytes in base64
    assert check_password("correct horse", stored) is True
    assert check_password("correct horsE", stored) is False
    assert hash_password("correct horse") != stored, "each hash has its own salt"


@pytest.mark.parametrize("stored", [None, "", "scrypt$1$2$3", "scrypt$16384$8$1$!!$!!"])
def test_no_account_or_a_malformed_hash_never_matches_and_costs_a_hash(
    stored: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[int] = []
    scrypt = hashlib.scrypt

    def counting(password: bytes, **options: int | bytes) -> bytes:
        hashed.append(1)
        return scrypt(password, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", counting)
    assert check_password("whatever it is", stored) is False
    assert hashed == [1]


def test_short_passwords_are_refused() -> None:
    with pytest.raises(InputError, match="at least 8 characters"):
        hash_password("seven77")
    assert len(new_password()) == 16


def test_the_store_keeps_the_hash_never_the_password(engine: Engine) -> None:
    password = add_user(engine, "olga", "Olga", "customs_officer", NOW, password="long enough")
    assert password == "long enough"
    with engine.connect() as conn:
        (row,) = conn.execute(select(web_users)).all()
    assert "long enough" not in str(row._mapping)
    assert check_password("long enough", row.password_hash) is True
    stored = credentials_of(engine, "olga")
    assert stored is not None
    assert (stored.user_id, stored.password_hash) == (row.id, row.password_hash)
    assert credentials_of(engine, "nobody") is None


def test_sign_in_and_reset(engine: Engine) -> None:
    generated = add_user(engine, "rita", "Rita", "customs_analyst", NOW)
    assert len(generated) == 16
    token = sign_in(engine, "rita", generated, NOW)
    user = session_user(engine, token, NOW)
    assert user is not None
    assert (user.username, user.role, user.may_act) == ("rita", "customs_analyst", False)
    for username, password in (("rita", "wrong password"), ("nobody", generated)):
        with pytest.raises(NotAuthenticated, match="unknown user or wrong password"):
            sign_in(engine, username, password, NOW)
    fresh = reset_password(engine, "rita")
    assert fresh != generated
    assert session_user(engine, token, NOW) is None, "a reset ends the sessions"
    with engine.connect() as conn:
        assert conn.execute(select(web_sessions)).all() == []
    with pytest.raises(NotAuthenticated):
        sign_in(engine, "rita", generated, NOW)
    assert session_user(engine, sign_in(engine, "rita", fresh, NOW), NOW) is not None
