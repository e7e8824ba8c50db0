"""The analysts' table as ``infra/template.yaml`` declares it, and what it takes for DuckDB to
run the template's named query on the records (docs/operations/records.md).

The translation from Athena is two things and nothing else: the Hive column types become
DuckDB's (``duckdb_type``), and the query's ``?`` parameters are passed as values instead
of as SQL literals. The query's text runs unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.infra.test_template import resource

if TYPE_CHECKING:
    import duckdb

HIVE_TO_DUCKDB = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
}


def table_input() -> dict[str, Any]:
    table: dict[str, Any] = resource("ScanRecordsTable")["TableInput"]
    return table


def columns() -> dict[str, str]:
    """Each declared column's Hive type, by name, in the template's order."""
    return {column["Name"]: column["Type"] for column in table_input()["StorageDescriptor"]["Columns"]}


def partition_keys() -> dict[str, str]:
    return {column["Name"]: column["Type"] for column in table_input()["PartitionKeys"]}


def named_query() -> str:
    """The SQL of "every UNKNOWN at a camera in a month", as Athena stores it."""
    query: str = resource("UnknownAtACameraQuery")["QueryString"]
    return query


def hive_type_of(value: object) -> str:
    """The Hive type a JSON value of the record needs (``None`` has none: see the callers)."""
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "struct<" + ",".join(f"{name}:{hive_type_of(item)}" for name, item in value.items()) + ">"
    raise TypeError(f"no Hive type for {type(value).__name__}")


def duckdb_type(hive: str) -> str:
    """A Hive type (``string``, ``struct<left:int,...>``) as DuckDB spells it."""
    if hive.startswith("struct<") and hive.endswith(">"):
        fields = [field.split(":", 1) for field in _top_level(hive[len("struct<") : -1])]
        return "STRUCT(" + ", ".join(f'"{name}" {duckdb_type(kind)}' for name, kind in fields) + ")"
    return HIVE_TO_DUCKDB[hive]


def _top_level(fields: str) -> list[str]:
    """``fields`` split at the commas not inside a nested ``<…>``."""
    parts, depth, start = [], 0, 0
    for at, char in enumerate(fields):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(fields[start:at])
            start = at + 1
    return [*parts, fields[start:]]


def scans_table(connection: duckdb.DuckDBPyConnection, prefix: Path) -> None:
    """Make ``scans`` in ``connection`` the table Athena sees: the JSON-lines files under
    ``prefix`` (a copy of the bucket's ``processed/``), read with the declared columns only
    and the partition column from the ``dt=`` folders, as partition projection names them."""
    records = connection.read_json(
        str(prefix / "*" / "*.json"),
        format="newline_delimited",
        columns={name: duckdb_type(kind) for name, kind in columns().items()},
        hive_partitioning=True,
        hive_types={name: duckdb_type(kind) for name, kind in partition_keys().items()},
    )
    records.create_view("scans")
