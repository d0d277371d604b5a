"""The ledger from the command line: prove, disclose and check a bundle,
witnesses cosigning to a quorum, and `ledger verify` failing on tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from tests import factories as f
from tests.test_cli import clearway


def _ingest(tmp_path: Path, url: str, *docs: dict) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*docs))
    done = clearway("ingest", str(path), cwd=tmp_path, url=url)
    assert done.returncode == 0, done.stderr


def test_prove_disclose_and_check_offline(tmp_path: Path, sqlite_url: str) -> None:
    doc = f.declaration()
    _ingest(tmp_path, sqlite_url, doc, f.declaration())
    event = f"declaration.filed:mkt-1/{doc['declaration_id']}:v1"
    proof = clearway("ledger", "prove", event, "--json", cwd=tmp_path, url=sqlite_url)
    assert proof.returncode == 0, proof.stderr
    # 2 filed + 2 duty assessed + 2 risk decisions, under one checkpoint
    assert orjson.loads(proof.stdout)["tree_size"] == 6
    done = clearway(
        "ledger", "disclose", event, "consignee", "--out", "b.json", cwd=tmp_path, url=sqlite_url
    )
    assert done.returncode == 0, done.stderr
    vkey = clearway("ledger", "public-key", cwd=tmp_path, url=sqlite_url).stdout.strip()
    # The reader has only the bundle and the log's public key.
    reader = tmp_path / "reader"
    reader.mkdir()
    (reader / "b.json").write_bytes((tmp_path / "b.json").read_bytes())
    checked = clearway(
        "ledger",
        "check-bundle",
        "b.json",
        "--log-key",
        vkey,
        cwd=reader,
        url=f"sqlite:///{reader / 'r.db'}",
    )
    assert checked.returncode == 0, checked.stderr
    assert '"name":"AnnaSchmidt"' in "".join(checked.stdout.split())
    bundle = orjson.loads((reader / "b.json").read_bytes())
    bundle["index"] += 1
    (reader / "b.json").write_bytes(orjson.dumps(bundle))
    refused = clearway(
        "ledger",
        "check-bundle",
        "b.json",
        "--log-key",
        vkey,
        cwd=reader,
        url=f"sqlite:///{reader / 'r.db'}",
    )
    assert refused.returncode == 1
    assert "not a valid disclosure" in refused.stderr


def test_two_witnesses_make_a_quorum(tmp_path: Path, sqlite_url: str) -> None:
    _ingest(tmp_path, sqlite_url, f.declaration())
    vkeys = []
    for name in ("post.example/w", "mkt.example/w"):
        for _ in range(2):  # cosign the first checkpoint, then a later one
            done = clearway(
                "ledger",
                "cosign",
                "--witness-key",
                f"{name.split('.')[0]}.key",
                "--name",
                name,
                "--state",
                f"{name.split('.')[0]}.state",
                cwd=tmp_path,
                url=sqlite_url,
            )
            assert done.returncode == 0, done.stderr
            _ingest(tmp_path, sqlite_url, f.declaration())
        key = (tmp_path / f"{name.split('.')[0]}.key").read_text().split("+")
        from clearway.ledger import NoteSigner

        vkeys.append(NoteSigner.from_skey("+".join(key).strip()).verifier.vkey())
    # The latest checkpoint has no cosignature yet; have both cosign it.
    for name in ("post.example/w", "mkt.example/w"):
        prefix = name.split(".")[0]
        assert (
            clearway(
                "ledger",
                "cosign",
                "--witness-key",
                f"{prefix}.key",
                "--name",
                name,
                "--state",
                f"{prefix}.state",
                cwd=tmp_path,
                url=sqlite_url,
            ).returncode
            == 0
        )
    args = ["ledger", "checkpoint", "--quorum", "2", "--witness", vkeys[0], "--witness", vkeys[1]]
    ok = clearway(*args, cwd=tmp_path, url=sqlite_url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("\u2014 ") == 3
    _ingest(tmp_path, sqlite_url, f.declaration())
    short = clearway(*args, cwd=tmp_path, url=sqlite_url)
    assert short.returncode == 1
    assert "needs 2" in short.stderr


def test_verify_fails_on_a_changed_event(tmp_path: Path, sqlite_url: str) -> None:
    _ingest(tmp_path, sqlite_url, f.declaration(), f.declaration())
    assert clearway("ledger", "verify", cwd=tmp_path, url=sqlite_url).returncode == 0
    with sqlite3.connect(tmp_path / "clearway.db") as conn:
        conn.execute("UPDATE ledger_entries SET leaf = X'00' WHERE idx = 1")
    done = clearway("ledger", "verify", cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 1
    assert "event 1 was changed" in done.stdout


def test_verify_reports_a_changed_declaration_row_and_emptied_checkpoints(
    tmp_path: Path, sqlite_url: str
) -> None:
    _ingest(tmp_path, sqlite_url, f.declaration(), f.declaration())
    with sqlite3.connect(tmp_path / "clearway.db") as conn:
        conn.execute("UPDATE declarations SET seller_name = 'Honest Traders' WHERE id = 2")
    done = clearway("ledger", "verify", cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 1
    assert (
        "declaration row 2 (event 1): its seller_name is not the one its committed document gives"
        in done.stdout
    )
    with sqlite3.connect(tmp_path / "clearway.db") as conn:
        conn.execute("UPDATE declarations SET seller_name = 'Shenzhen Bright Electronics Co., Ltd'")
        conn.execute("DELETE FROM ledger_checkpoints")
    done = clearway("ledger", "verify", cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 1
    assert "but no checkpoint: none of them is signed" in done.stdout
