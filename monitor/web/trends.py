"""The trends page: material changes per topic and month, across every company (``/trends/``),
and the same table as CSV (``/trends.csv``).

Rows are the topics of the vocabulary (``monitor.compare.classify.TOPICS``), columns the months
(the last 12 by default; ``?year=2025`` or ``?from=2025-03&to=2025-08``), each cell the count of
material changes touching that topic in that month and of the companies they are at, linking
to exactly those changes in the home page's list (``class=material&topic=…&month=…``). The
counting is one grouped query in the read model (``Queries.topic_months``).
"""

import csv
import io
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.routing import Route

from monitor.compare.classify import TOPICS
from monitor.store import EXPORT_INCLUDE, ChangeFilter, Queries, include_param, parse_include, parse_month
from monitor.web.render import Links

# Backfilled history is history of the policies too: counted at its archived date. Technical
# re-extractions are noise, never material, so they never reach a cell.
DEFAULT_INCLUDE = EXPORT_INCLUDE
DEFAULT_MONTHS = 12
MAX_MONTHS = 120  # ten years: bounds the table and the query


def _month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(params, today: datetime | None = None) -> tuple[str, str]:
    """The first and last month shown (``YYYY-MM``, inclusive) from ``year`` or ``from``/``to``;
    hostile or inverted values fall back to the last 12 months, spans are cut to ten years."""
    today = today or datetime.now(UTC)
    year = str(params.get("year") or "").strip()
    if year.isascii() and year.isdigit() and len(year) == 4:
        return f"{year}-01", f"{year}-12"
    last = parse_month(params.get("to")) or f"{today.year:04d}-{today.month:02d}"
    first = parse_month(params.get("from")) or _month(_month_index(last) - DEFAULT_MONTHS + 1)
    if first > last:
        first, last = last, first
    if _month_index(last) - _month_index(first) >= MAX_MONTHS:
        first = _month(_month_index(last) - MAX_MONTHS + 1)
    return first, last


def table(q: Queries, links: Links, first: str, last: str, include: frozenset) -> dict:
    """The trends table: ``months``, ``rows`` (one per topic: its cells and total) and the
    column totals; each non-empty cell with the link to its changes."""
    months = [_month(index) for index in range(_month_index(first), _month_index(last) + 1)]
    counts = {(row["topic"], row["month"]): row for row in q.topic_months(first, last, include)}
    rows = []
    for topic in TOPICS:
        cells = []
        for month in months:
            found = counts.get((topic, month))
            where = ChangeFilter(klass="material", topic=topic, month=month, include=include)
            cells.append({"month": month, "changes": found["changes"] if found else 0,
                          "companies": found["companies"] if found else 0,
                          "url": links.home(where.params(explicit=True)) if found else None})
        rows.append({"topic": topic, "cells": cells, "total": sum(cell["changes"] for cell in cells)})
    totals = [sum(row["cells"][column]["changes"] for row in rows) for column in range(len(months))]
    return {"months": months, "rows": rows, "totals": totals}


def context(q: Queries, links: Links, params) -> dict:
    """The page's context: the table and the range and include choices it was made with."""
    first, last = month_range(params)
    include = parse_include(params.get("include"), DEFAULT_INCLUDE)
    found = table(q, links, first, last, include)
    shown = {"from": first, "to": last}
    other = DEFAULT_INCLUDE if include != DEFAULT_INCLUDE else frozenset()
    return {"title": f"Trends {first} to {last}", "first": first, "last": last, **found,
            "live_only": "backfilled" not in include,
            "csv_url": links.trends_csv({**shown, "include": include_param(include)}),
            "other_include_url": links.trends({**shown, "include": include_param(other)}),
            "years": [str(year) for year in range(int(last[:4]), int(last[:4]) - 4, -1)],
            "previous_url": links.trends(_shifted(first, last, -1, include)),
            "next_url": links.trends(_shifted(first, last, 1, include))}


def _shifted(first: str, last: str, direction: int, include: frozenset) -> dict:
    span = _month_index(last) - _month_index(first) + 1
    start = _month(_month_index(first) + direction * span)
    end = _month(_month_index(last) + direction * span)
    params = {"from": start, "to": end}
    return params if include == DEFAULT_INCLUDE else {**params, "include": include_param(include)}


def csv_text(found: dict, links: Links) -> str:
    """The table as CSV: one row per topic and month with changes and companies, and the link."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("topic", "month", "material_changes", "companies", "changes_url"))
    for row in found["rows"]:
        for cell in row["cells"]:
            # Topics and months are the vocabulary's words and digits: nothing here is crawled.
            writer.writerow((row["topic"], cell["month"], cell["changes"], cell["companies"],
                             links.absolute(cell["url"]) if cell["url"] else ""))
    return buffer.getvalue()


def routes(queries: Queries, page, links_for, conditional) -> list[Route]:
    """``/trends/`` and ``/trends.csv``; ``page`` renders a template, ``conditional`` answers a
    body with its ETag (304 when the client holds it)."""

    def trends_page(request: Request):
        return page(request, "trends.html", context(queries, links_for(request), request.query_params))

    def trends_csv(request: Request):
        links = links_for(request)
        first, last = month_range(request.query_params)
        include = parse_include(request.query_params.get("include"), DEFAULT_INCLUDE)
        body = csv_text(table(queries, links, first, last, include), links).encode("utf-8")
        return conditional(request, body, "text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="policywatch-trends-{first}-{last}.csv"'})

    return [Route("/trends/", trends_page), Route("/trends.csv", trends_csv)]


__all__ = ["routes", "table", "context", "csv_text", "month_range"]
