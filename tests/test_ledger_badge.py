"""The workspace's ledger badge in a real browser (Debian's Chromium): it
checks each field the page shows against its commitment in the leaf, so a
declaration changed in the database shows "FAILED" naming the field, though
the leaf itself is still in the signed tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, update

from clearway.clearance import DutyOptions, Stages
from clearway.duty import load_book
from clearway.ledger.keys import keys_for
from clearway.store import open_engine
from clearway.store.schema import declarations
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_workspace_browser import CHROMIUM
from tests.workspace_server import Workspace, folder_settings, serving

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's Chromium at /usr/bin/chromium (scripts/test installs it)",
)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    settings = folder_settings(tmp_path)
    (tmp_path / "rules.yaml").write_text("rules: []\n")
    doc = f.declaration()
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(doc))
    engine = open_engine(settings.database_url)
    ingest_files(
        engine, [path], stages=Stages(duty=DutyOptions(load_book()), ledger=keys_for(settings))
    )
    engine.dispose()
    with serving(settings) as running:
        yield running, doc["declaration_id"]


def test_badge_fails_on_a_changed_field_though_the_leaf_is_included(
    workspace: tuple[Workspace, str],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    running, ref = workspace
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(f"{running.base}/signin")
        page.get_by_label("User name").fill("officer")
        page.get_by_label("Password").fill(running.password)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{running.base}/declarations/{ref}?filer=mkt-1")
        badge = page.locator("#inclusion-badge")
        expect(badge).to_have_class("badge verified", timeout=10_000)
        fields = len(orjson.loads(_document(running, ref)))
        expect(badge).to_contain_text(f"verified on the ledger: {fields} fields against")
        # An attacker with write access renames the seller in the stored document.
        doc = orjson.loads(_document(running, ref))
        doc["seller"]["name"] = "Honest Traders GmbH"
        engine = open_engine(running.settings.database_url)
        with engine.begin() as conn:
            conn.execute(
                update(declarations)
                .where(declarations.c.ref == ref)
                .values(document=orjson.dumps(doc).decode(), seller_name="Honest Traders GmbH")
            )
        engine.dispose()
        page.reload()
        expect(page.locator("#declaration-document")).to_contain_text("Honest Traders GmbH")
        expect(badge).to_have_class("badge failed", timeout=10_000)
        expect(badge).to_have_text(
            "ledger check FAILED: field seller is not the one committed on the ledger"
        )
        browser.close()


def _document(running: Workspace, ref: str) -> str:
    engine = open_engine(running.settings.database_url)
    with engine.connect() as conn:
        document = conn.execute(
            select(declarations.c.document).where(declarations.c.ref == ref)
        ).scalar_one()
    engine.dispose()
    return str(document)
