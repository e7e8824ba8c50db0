"""What the command modules share: leaf parsers, photos, pages, tables."""

from __future__ import annotations

import argparse
import base64
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from facegate_cli import output
from facegate_cli.client import ApiClient
from facegate_cli.context import Context
from facegate_cli.errors import UsageError

PAGE_SIZE = 100  # the API's largest page


def command(subcommands: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A sub-command that also takes ``--json`` after its name (``facegate scans list --json``)."""
    parser: argparse.ArgumentParser = subcommands.add_parser(name, help=help, description=help)
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    return parser


def day(raw: str) -> str:
    """An argparse type: a local day, YYYY-MM-DD."""
    try:
        if len(raw) == 10:  # fromisoformat also takes 20260105 and week dates
            return date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    raise argparse.ArgumentTypeError("a day is YYYY-MM-DD")


def photo_body(path: str | Path) -> dict[str, str]:
    """``{"image": base64}`` of a photo file, as the API's photo routes take it."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    return {"image": base64.b64encode(data).decode()}


def pages(client: ApiClient, path: str, params: dict[str, str], limit: int | None = None) -> Iterator[Any]:
    """The items of every page of ``path``, following ``next_token``; at most ``limit`` of them."""
    params = dict(params)
    seen = 0
    while True:
        page_size = PAGE_SIZE if limit is None else max(1, min(PAGE_SIZE, limit - seen))
        page = client.get(path, {**params, "limit": str(page_size)})
        for item in page.get("items", []):
            if limit is not None and seen >= limit:
                return
            seen += 1
            yield item
        token = page.get("next_token")
        if not token or (limit is not None and seen >= limit):
            return
        params["next_token"] = token


def show(context: Context, value: Any, columns: list[str], precise: tuple[str, ...] = ()) -> None:
    """``context.show``, with the ``precise`` fields at three decimals in tables (JSON unchanged).

    Similarities live between 0.5 and 1: a table's one decimal would make them all alike.
    """
    if context.json:
        context.show(value)
        return
    rows = value if isinstance(value, list) else [value]
    context.show([{**row, **_three_decimals(row, precise)} for row in rows], columns)


def _three_decimals(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, object]:
    return {name: three_decimals(row.get(name)) for name in fields if name in row}


def three_decimals(value: object) -> object:
    """A similarity as a table shows it; anything else as it is."""
    return f"{value:.3f}" if isinstance(value, int | float) and not isinstance(value, bool) else value


def section(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A titled table after the main one: ``title: N`` (or ``none``), then the rows."""
    print(f"\n{title}: {len(rows) or 'none'}")
    if rows:
        output.table(rows, columns)


def joined(values: object) -> str:
    """A list of ids as one table cell (``a,b``); ``*`` (every door, every employee) stays ``*``."""
    return ",".join(str(value) for value in values) if isinstance(values, list) else str(values or "")


def removed(context: Context, kind: str, field: str, value: str) -> int:
    """What a ``remove`` verb prints once the API answered 204."""
    if context.json:
        context.show({field: value, "removed": True})
    else:
        print(f"removed {kind} {value}")
    return 0
