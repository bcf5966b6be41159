"""An event report as CSV (one table, a ``section`` column) or XLSX (one sheet per table)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook

HEADERS: dict[str, list[str]] = {
    "stock": ["key", "name", "capacity", "sold", "held", "available", "blocked"],
    "revenue_by_zone": ["key", "name", "tickets", "revenue_cents", "refunded_tickets", "refunded_cents"],
    "revenue_by_ticket_type": [
        "key",
        "name",
        "tickets",
        "revenue_cents",
        "refunded_tickets",
        "refunded_cents",
    ],
    "sell_through": ["at", "tickets", "share"],
    "funnel": ["step", "count", "rate"],
}


def _tables(report: dict[str, Any]) -> Iterator[tuple[str, list[str], list[list[Any]]]]:
    for section, columns in HEADERS.items():
        rows = [[row.get(c) for c in columns] for row in report[section]]
        yield section, columns, rows


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "field1", "field2", "field3", "field4", "field5", "field6", "field7"])
    for section, columns, rows in _tables(report):
        writer.writerow([section, *columns])
        for row in rows:
            writer.writerow([section, *row])
    return out.getvalue()


def to_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    summary = book.create_sheet("summary")
    summary.append(["event", report["event"]["name"]])
    summary.append(["currency", report["event"]["currency"]])
    for key, value in report["totals"].items():
        summary.append([key, value])
    for section, columns, rows in _tables(report):
        sheet = book.create_sheet(section[:31])
        sheet.append(columns)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
