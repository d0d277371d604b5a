"""The officer workspace in a real browser: Playwright driving Debian's
Chromium (installed by scripts/test) against the workspace on 127.0.0.1.
Screenshots go to test-artifacts/ (or $CLEARWAY_TEST_ARTIFACTS)."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workspace_server import Workspace, serving, simulated_settings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(
    os.environ.get(
        "CLEARWAY_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"
    )
)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's Chromium at /usr/bin/chromium (scripts/test installs it)",
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    settings = simulated_settings(tmp_path_factory.mktemp("workspace"))
    with serving(settings) as running:
        yield running


@pytest.fixture(scope="module")
def page(workspace: Workspace) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, accept_downloads=True
        )
        outside: list[str] = []
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(workspace.base)
                else (outside.append(route.request.url), route.abort())
            ),
        )
        tab = context.new_page()
        yield tab
        assert outside == [], f"the workspace asked for outside resources: {outside}"
        browser.close()


def test_officer_flow_in_chromium(workspace: Workspace, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = workspace.base

    # Sign in (asked for the queue, sent to sign-in, brought back).
    page.goto(f"{base}/queue")
    expect(page).to_have_url(f"{base}/signin?next=%2Fqueue")
    page.get_by_label("User name").fill("officer")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong password")
    page.get_by_label("User name").fill("officer")
    page.get_by_label("Password").fill(workspace.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Targeting queue")).to_be_visible()

    # Keyboard: the first Tab reaches the skip link; Tab onwards reaches the
    # first declaration, and Enter opens it.
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.getAttribute('href') || ''")
        if focused.startswith("/declarations/"):
            break
    else:
        raise AssertionError("no declaration link reached with the keyboard")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Risk")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Targeting queue")).to_be_visible()

    # Filter the red queue by the origin of its first declaration.
    rows = page.locator("table.queue tbody tr")
    first_origin = rows.first.locator("td").nth(5).inner_text().strip()
    assert first_origin
    page.get_by_label("Origin").fill(first_origin)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(
        f"{base}/queue?lane=red&office=&origin={first_origin}&marketplace=&carrier=&rule=&sort=score"
    )
    origins = {
        cell.strip()
        for cell in page.locator("table.queue tbody tr td:nth-child(6)").all_inner_texts()
    }
    assert origins == {first_origin}
    # Sort by value, highest first.
    page.get_by_role("link", name="Value").click()
    values = [
        float(v.split()[0].replace(",", ""))
        for v in page.locator("table.queue tbody tr td:nth-child(5)").all_inner_texts()
    ]
    assert values == sorted(values, reverse=True)
    page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

    # Open a declaration: the ledger badge checks the inclusion proof and the signature.
    rows.first.locator("td a").first.click()
    expect(page.get_by_role("heading", name="Risk")).to_be_visible()
    badge = page.locator("#inclusion-badge")
    expect(badge).to_have_class("badge verified", timeout=10_000)
    expect(badge).to_contain_text("checkpoint signed by")
    # The same check on a tampered leaf fails, visibly.
    page.evaluate(
        """async () => {
            const b = document.getElementById('inclusion-badge');
            const p = JSON.parse(b.dataset.proof);
            p.leaf = btoa('a different event');
            b.dataset.proof = JSON.stringify(p);
            await verifyBadge(b);
        }"""
    )
    expect(badge).to_have_class("badge failed")
    expect(badge).to_contain_text("does not lead to the signed root")
    page.reload()
    expect(badge).to_have_class("badge verified", timeout=10_000)

    # Send a request for information, confirming in the dialog.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Request information from the filer").check()
    page.get_by_label("Why / what to send").fill("Send the invoice and proof of payment")
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_have_text("rfi recorded")
    expect(
        page.locator("section", has=page.get_by_role("heading", name="Decisions and referrals"))
    ).to_contain_text("Send the invoice and proof of payment")

    # Record an outcome; a dismissed confirmation records nothing.
    page.get_by_label("Record the outcome of an inspection").check()
    page.get_by_label("Outcome (when recording one)").select_option("seized")
    page.get_by_label("Why / what to send").fill("Counterfeit branded earbuds")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_have_text("rfi recorded")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_have_text("outcome recorded")
    expect(page.locator("body")).to_contain_text("outcome:seized")
    page.screenshot(path=str(ARTIFACTS / "declaration.png"), full_page=True)

    # The dashboard's charts render with data.
    page.get_by_role("link", name="Trends").click()
    expect(page.get_by_role("heading", name="What is changing in e-commerce")).to_be_visible()
    charts = page.locator("svg.chart")
    assert charts.count() >= 6
    for name in (
        "volumes-origin",
        "volumes-marketplace",
        "volumes-carrier",
        "volumes-chapter",
        "lanes",
    ):
        bars = page.locator(f"#panel-{name} svg.chart rect")
        assert bars.count() > 3, name
        assert page.locator(f"#panel-{name} svg.chart").bounding_box()["height"] > 100
    expect(page.locator("#panel-hit-rates svg.chart")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # Export a table as CSV.
    with page.expect_download() as download:
        page.locator("#panel-volumes-origin a.csv").click()
    path = ARTIFACTS / "volumes-origin.csv"
    download.value.save_as(path)
    with path.open(newline="") as stream:
        table = list(csv.reader(stream))
    assert table[0][0] == "day"
    assert len(table) >= 4
    assert sum(int(x) for row in table[1:] for x in row[1:]) > 0
