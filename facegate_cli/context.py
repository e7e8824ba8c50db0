"""What every command receives: the stage, an API client for it, and how to print."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from facegate_cli import output
from facegate_cli.client import ApiClient
from facegate_cli.stages import Stage, resolve


@dataclass
class Context:
    """Built from the global flags; the stage and the client are found on first use."""

    stage_name: str
    json: bool = False
    _stage: Stage | None = field(default=None, repr=False)
    _client: ApiClient | None = field(default=None, repr=False)

    @property
    def stage(self) -> Stage:
        if self._stage is None:
            self._stage = resolve(self.stage_name)
        return self._stage

    @property
    def client(self) -> ApiClient:
        if self._client is None:
            from facegate_cli.tokens import StoredTokens

            self._client = ApiClient(self.stage.api_url, StoredTokens(self.stage))
        return self._client

    def show(self, value: Any, columns: list[str] | None = None) -> None:
        """Print ``value``: JSON with ``--json``, else a table of ``columns`` (rows or one row)."""
        if self.json or columns is None:
            output.as_json(value)
            return
        rows = value if isinstance(value, list) else [value]
        output.table(rows, columns)


Command = Callable[[argparse.Namespace, Context], int]
