"""The dashboard's duty chart: one chart per currency, never EUR, GBP and
USD added into one bar."""

from __future__ import annotations

import re
from typing import Any

from clearway.analytics import Trends
from clearway.web.dashboard import charts_of, duty_charts, tables_of


def row(currency: str, declarations: int, total: float, at_sale: float = 0.0) -> dict[str, Any]:
    return {
        "day": "2026-11-02",
        "currency": currency,
        "declarations": declarations,
        "value": 1000.0,
        "duty": total,
        "vat": 0.0,
        "total": total,
        "due_at_sale": at_sale,
        "shortfall": 0.0,
    }


def trends(rows: list[dict[str, Any]]) -> Trends:
    return Trends(
        start="2026-11-02",
        end="2026-11-02",
        days=["2026-11-02"],
        volumes={"origin": [], "marketplace": [], "carrier": [], "chapter": []},
        lanes=[],
        hit_rates=[],
        duty=rows,
        risky_sellers=[],
        consignee_clusters=[],
    )


def test_each_currency_gets_its_own_chart() -> None:
    t = trends([row("USD", 5, 50.0), row("EUR", 9, 120.0, at_sale=20.0), row("GBP", 2, 7.0)])
    svg = duty_charts(t)
    titles = re.findall(r"<title id=\"[^\"]+\">([^<]+)</title>", svg)
    assert titles == [
        "Duty, VAT and fees assessed in EUR: paid at sale vs still due",
        "Duty, VAT and fees assessed in USD: paid at sale vs still due",
        "Duty, VAT and fees assessed in GBP: paid at sale vs still due",
    ]
    bars = re.findall(r"<rect [^>]*><title>([^<]+)</title>", svg)
    # Bars hold each currency's own amounts: 100 + 20 EUR, 50 USD, 7 GBP.
    assert bars == [
        "2026-11-02 paid at sale: 20",
        "2026-11-02 due at import: 100",
        "2026-11-02 due at import: 50",
        "2026-11-02 due at import: 7",
    ]
    assert charts_of(t, tables_of(t))["duty"] == svg
