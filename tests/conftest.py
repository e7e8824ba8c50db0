"""Shared fixtures: real photos from the cache, one local AWS (moto server) per session."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib import wiring
from chalicelib.core.config import ImageLimits
from chalicelib.core.models import NormalisedImage
from chalicelib.scanning.imaging import normalise
from sandbox.photos import ensure_photos
from sandbox.stack import LocalAws, Stack, patched_environ, stage_environment

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log

# A developer's own FACEGATE_* variables must not change what the tests pin down.
for _name in [name for name in os.environ if name.startswith("FACEGATE_")]:
    del os.environ[_name]


@pytest.fixture(scope="session")
def photos() -> Path:
    """The folder of real photos (downloaded once by `make photos`)."""
    return ensure_photos()


@pytest.fixture(scope="session")
def photo(photos: Path) -> object:
    """``photo("obama2.jpg")``: a cached real photo, normalised."""
    cache: dict[str, NormalisedImage] = {}

    def load(name: str) -> NormalisedImage:
        if name not in cache:
            cache[name] = normalise((photos / name).read_bytes(), ImageLimits())
        return cache[name]

    return load


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    aws = LocalAws()
    with patched_environ(aws.environment()):
        yield aws
    aws.stop()


@pytest.fixture
def stack(local_aws: LocalAws) -> Iterator[Stack]:
    """A fresh dev stage in local AWS, with the stage's variables set."""
    local_aws.reset()
    with patched_environ(stage_environment("sandbox", {})):
        wiring.reset()
        yield Stack(local_aws)
        wiring.reset()
