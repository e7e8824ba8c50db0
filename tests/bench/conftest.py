"""The benchmarks run on tiny inputs in the suite and time dlib itself, not remembered answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.remembered_models import dlib_itself


@pytest.fixture(autouse=True)
def _dlib_itself() -> Iterator[None]:
    with dlib_itself():
        yield
