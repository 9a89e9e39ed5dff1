"""Shared output options: a table for people, json/jsonl/csv with stable keys for scripts.

For people, output fits the terminal: its width when known (COLUMNS, or a terminal on stdin, stdout
or stderr), else 80 columns. Lists of articles are not tables: a title and a URL squeezed into
columns of 80 took a dozen lines and a URL folded across lines cannot be clicked or copied; each
article is its headline, a line of facts, and its URL whole on a line of its own. A table piped
without COLUMNS is as wide as its cells, never folded: a file or a script gets each value whole.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

# The web app's JSON (web/, below this layer) encodes records with it too: the same values either way.
from store.records import jsonable as _jsonable

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "json", "jsonl", "csv")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Story:
    """One article as a list shows it to people: id, headline, facts (source, date, ...), link."""

    id: int
    title: str
    facts: Sequence[str]
    url: str


def output_options(func: F) -> F:
    """Add --format to a command that prints records."""
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
        help="table for people; json, jsonl or csv for scripts (stable keys).",
    )(func)


def emit(records: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str],
         title: str | None = None, widths: dict[str, int] | None = None,
         headers: dict[str, str] | None = None) -> None:
    """Write records to stdout in the chosen format; `columns` are the table's columns (`headers`: a
    shorter label for some of them, in the table only: the keys of the other formats never change)."""
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
        _table(records, columns, title, widths or {}, headers or {})
    out.flush()


def emit_stories(stories: Sequence[Story]) -> None:
    """Print each story as a few lines that fit the width, its URL whole on a line of its own."""
    from rich.text import Text

    console = _console()
    indent = max((len(str(s.id)) for s in stories), default=1) + 1
    for i, story in enumerate(stories):
        if i:
            console.print()
        lines = [*Text(_printable(story.title) or "(no title)", style="bold").wrap(console, console.width - indent),
                 *Text(" · ".join(_printable(f) for f in story.facts if f), style="dim").wrap(
                     console, console.width - indent)]
        for n, line in enumerate(lines):
            line.rstrip()
            console.print(Text(f"{story.id:>{indent - 1}} " if n == 0 else " " * indent) + line, soft_wrap=True)
        # Never wrapped, however long: a terminal makes it a link only when it is one piece.
        console.print(Text(" " * indent + _printable(story.url)), soft_wrap=True)
    sys.stdout.flush()


def width() -> int:
    """The width people's output is made for: the terminal's, or 80 when there is none."""
    return _console().width


def _console() -> Console:
    from rich.console import Console

    # rich takes the width from COLUMNS or a terminal on stdin, stdout or stderr, else 80.
    return Console(soft_wrap=False)


def _printable(text: str) -> str:
    # Titles and URLs come from pages anyone writes: an escape sequence would drive the terminal.
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")


def _table(records: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None,
           widths: dict[str, int], headers: dict[str, str]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    # No frame, one space of padding: ten columns of figures fit 80 columns.
    table = Table(title=title, show_lines=False, header_style="bold", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False, padding=(0, 1, 0, 0))
    for col in columns:
        # A count is never folded (a folded "1024" reads as two numbers); text columns give way.
        values = [r.get(col) for r in records if r.get(col) is not None]
        count = values and all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        table.add_column(headers.get(col, col), max_width=widths.get(col), overflow="fold", no_wrap=bool(count),
                         justify="right" if count else "left")
    for r in records:
        # Text, not str: rich would read "[...]" in a stored title or error as markup.
        table.add_row(*(Text(_printable(_table_cell(r.get(c)))) for c in columns))
    console = _console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped: cells are never folded (a file or a script gets each value whole), however wide.
        natural = console.measure(table, options=console.options.update_width(10_000)).maximum
        console = type(console)(soft_wrap=False, width=max(console.width, natural))
    console.print(table)


def _table_cell(value: Any) -> str:
    # To the minute, in UTC as stored: the seconds and the offset cost a narrow table a column.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return _cell(value)


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
