"""Shared output options: a table for people, json/jsonl/csv with stable keys for scripts."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click

# The web app's JSON (web/, below this layer) encodes records with it too: the same values either way.
from store.records import jsonable as _jsonable

FORMATS = ("table", "json", "jsonl", "csv")
F = TypeVar("F", bound=Callable[..., Any])


def output_options(func: F) -> F:
    """Add --format to a command that prints records."""
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
        help="table for people; json, jsonl or csv for scripts (stable keys).",
    )(func)


def emit(records: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str],
         title: str | None = None, widths: dict[str, int] | None = None) -> None:
    """Write records to stdout in the chosen format; `columns` are the table's columns."""
    out = sys.stdout
    if fmt == "json":
        json.dump([_jsonable(r) for r in records], out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif fmt == "jsonl":
        for r in records:
            out.write(json.dumps(_jsonable(r), ensure_ascii=False) + "\n")
    elif fmt == "csv":
        keys = list(records[0]) if records else list(columns)
        writer = csv.DictWriter(out, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        for r in records:
            writer.writerow({k: _cell(v) for k, v in r.items()})
    else:
        _table(records, columns, title, widths or {})
    out.flush()


def _table(records: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None,
           widths: dict[str, int]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        table.add_column(col, max_width=widths.get(col), overflow="fold")
    for r in records:
        table.add_row(*(_cell(r.get(c)) for c in columns))
    # Piped output has no terminal width; rich would assume 80 and fold every cell.
    console = Console(soft_wrap=False)
    if not console.is_terminal:
        console = Console(soft_wrap=False, width=200)
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)
