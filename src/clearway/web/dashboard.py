"""The trends dashboard ("what is changing in e-commerce?"), its CSV
exports, and the same page as one standalone HTML file for
`clearway report`."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from clearway._internal.csv_cells import safe_writer
from clearway.analytics import Trends, pivot_days
from clearway.errors import NotFound
from clearway.store.trends import check_window, default_window, read_trends
from clearway.web.charts import LANE_COLOURS, bars, stacked_days
from clearway.web.session import Officer, context_of, templates

__all__ = ["charts_of", "duty_charts", "render_report", "router", "tables_of"]

router = APIRouter(include_in_schema=False)

DUTY_COLUMNS = [
    "day",
    "currency",
    "declarations",
    "value",
    "duty",
    "vat",
    "total",
    "due_at_sale",
    "shortfall",
]
TITLES = {
    "origin": "Declarations per day by origin",
    "marketplace": "Declarations per day by marketplace",
    "carrier": "Declarations per day by carrier",
    "chapter": "Item lines per day by HS chapter",
}


def tables_of(trends: Trends) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every table the dashboard shows, as (header, rows): the charts'
    fallbacks and what the CSV exports hold."""
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {}
    for name, rows in trends.volumes.items():
        names, series = pivot_days(rows, name, trends.days)
        tables[f"volumes-{name}"] = (
            ["day", *names],
            [[day, *(series[n][k] for n in names)] for k, day in enumerate(trends.days)],
        )
    lane_names, lane_series = pivot_days(trends.lanes, "lane", trends.days, top=4)
    tables["lanes"] = (
        ["day", *lane_names],
        [[day, *(lane_series[n][k] for n in lane_names)] for k, day in enumerate(trends.days)],
    )
    for name, rows, columns in (
        ("hit-rates", trends.hit_rates, ["selector", "inspected", "hits", "hit_rate"]),
        ("duty", trends.duty, DUTY_COLUMNS),
        (
            "risky-sellers",
            trends.risky_sellers,
            ["seller", "declarations", "mean_score", "red", "value"],
        ),
        (
            "consignee-clusters",
            trends.consignee_clusters,
            ["consignee", "country", "repeat_parcels", "value", "first", "last"],
        ),
        ("anomalies", trends.anomalies, ["kind", "subject", "detail", "score"]),
    ):
        tables[name] = (columns, [[row[c] for c in columns] for row in rows])
    return tables


def charts_of(
    trends: Trends, tables: dict[str, tuple[list[str], list[list[Any]]]]
) -> dict[str, str]:
    """The SVG charts, by the name of the table each draws."""
    charts: dict[str, str] = {}
    for name, title in TITLES.items():
        header, rows = tables[f"volumes-{name}"]
        series = {col: [row[k + 1] for row in rows] for k, col in enumerate(header[1:])}
        charts[f"volumes-{name}"] = stacked_days(title, trends.days, series)
    header, rows = tables["lanes"]
    series = {col: [row[k + 1] for row in rows] for k, col in enumerate(header[1:])}
    charts["lanes"] = stacked_days("Lane mix per day", trends.days, series, LANE_COLOURS)
    if trends.hit_rates:
        charts["hit-rates"] = bars(
            "Share of inspections that found something, by what selected them",
            [r["selector"] for r in trends.hit_rates],
            [r["hit_rate"] * 100 for r in trends.hit_rates],
            "%",
        )
    if trends.duty:
        charts["duty"] = duty_charts(trends)
    if trends.risky_sellers:
        charts["risky-sellers"] = bars(
            "Sellers with the highest mean risk score",
            [r["seller"] for r in trends.risky_sellers],
            [float(r["mean_score"]) for r in trends.risky_sellers],
        )
    return charts


def duty_charts(trends: Trends) -> str:
    """One chart per currency, most declarations first: amounts in EUR, GBP
    and USD are never added into one bar (converting them would need the
    rate of each day, and officers read each regime in its own currency)."""
    currencies = sorted(
        {str(r["currency"]) for r in trends.duty if r["currency"]},
        key=lambda c: (-sum(r["declarations"] for r in trends.duty if r["currency"] == c), c),
    )
    charts = []
    for currency in currencies:
        by_day = {r["day"]: r for r in trends.duty if r["currency"] == currency}

        def column(amount: Any, by_day: dict[Any, dict[str, Any]] = by_day) -> list[float]:
            return [float(amount(by_day[d])) if d in by_day else 0.0 for d in trends.days]

        charts.append(
            stacked_days(
                f"Duty, VAT and fees assessed in {currency}: paid at sale vs still due",
                trends.days,
                {
                    "paid at sale": column(lambda r: r["due_at_sale"] - r["shortfall"]),
                    "short of what was due": column(lambda r: r["shortfall"]),
                    "due at import": column(lambda r: max(r["total"] - r["due_at_sale"], 0.0)),
                },
            )
        )
    return "\n".join(charts)


def _window(request: Request, start: date | None, end: date | None) -> tuple[date, date]:
    if start is None or end is None:
        default_start, default_end = default_window(context_of(request).store)
        start, end = start or default_start, end or default_end
    check_window(start, end)
    return start, end


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    user: Officer,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    start, end = _window(request, start, end)
    trends = read_trends(context_of(request).store, start, end)
    tables = tables_of(trends)
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "user": user,
            "t": trends,
            "tables": tables,
            "charts": charts_of(trends, tables),
            "standalone": False,
        },
    )


@router.get("/dashboard/{name}.csv")
def export(
    request: Request,
    name: str,
    user: Officer,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    start, end = _window(request, start, end)
    tables = tables_of(read_trends(context_of(request).store, start, end))
    if name not in tables:
        raise NotFound(f"no table {name!r}; one of {', '.join(tables)}")
    header, rows = tables[name]
    out = io.StringIO()
    writer = safe_writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{start}-{end}.csv"'},
    )


def render_report(trends: Trends) -> str:
    """The dashboard as one HTML file with its styles inline and no script
    or link outside it."""
    from importlib import resources

    tables = tables_of(trends)
    css = resources.files("clearway.web").joinpath("static/app.css").read_text()
    template = templates.env.get_template("report.html")
    return template.render(
        t=trends, tables=tables, charts=charts_of(trends, tables), css=css, standalone=True
    )
