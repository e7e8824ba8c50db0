"""The access policy's port: its store of doors, groups, rules and holidays under one version.

Beside its feature, not in ``core.ports``: its vocabulary is the policy's value types, and core
imports no feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chalicelib.access.policy import AccessEntry, AccessKey, AccessSnapshot

# The most entries one ``AccessStore.commit`` writes or removes: DynamoDB's transactions hold
# 100 items, and one of them is the version.
MAX_ACCESS_CHANGES = 99


class AccessStore(Protocol):
    """The access policy's doors, groups, rules and holidays, under one version token."""

    def version(self) -> str:
        """The current version token (a consistent read); "" while nothing was ever stored."""
        ...

    def load(self) -> AccessSnapshot:
        """Everything, read consistently, with the version it was read at."""
        ...

    def commit(
        self, expected_version: str, put: Sequence[AccessEntry] = (), delete: Sequence[AccessKey] = ()
    ) -> bool:
        """Write ``put`` and remove ``delete`` in one step with a new version, only if the
        version is still ``expected_version``; False (nothing written) when it moved.

        A key both put and deleted is put. More than ``MAX_ACCESS_CHANGES`` keys: ValueError;
        an entry whose document the parsers refuse: ``InvalidAccessDocument``; nothing written."""
        ...
