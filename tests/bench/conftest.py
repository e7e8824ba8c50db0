"""The benchmarks run on tiny inputs in the suite and time the models themselves, not
remembered answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.remembered_models import the_models_themselves


@pytest.fixture(autouse=True)
def _the_models_themselves() -> Iterator[None]:
    with the_models_themselves():
        yield
