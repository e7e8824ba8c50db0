"""Shared fixtures: real photos from the cache, one local AWS (moto server) per session."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.core.config import ImageLimits
from chalicelib.core.models import NormalisedImage
from chalicelib.scanning.imaging import normalise
from sandbox.photos import ensure_photos
from sandbox.stack import LocalAws, Stack, patched_environ, stage_environment
from tests.shared_stack import SharedStage, changes, fingerprint

pytest_plugins = ["tests.time_budget", "pytester"]

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
# The reset between tests purges every queue; SQS (and moto by default) allows one purge a minute.
os.environ["MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"] = "false"


def _one_botocore_loader() -> None:
    """Every boto3 session of the test process shares one loader of botocore's service models.

    ``wiring.reset()`` (before and after every test that builds a stack) starts a new
    session, and each new session parses the service models' JSON again: about 0.4 s for a
    test's clients, 0.02 s with the loader shared. A loader only reads botocore's own data
    files and caches what it parsed, so sharing it changes nothing a test can observe (one
    session already shares it among its clients).
    """
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()
    botocore.session.create_loader = lambda *_, **__: shared


def _instant_sdk_backoff() -> None:
    """The SDK's retries happen as in AWS, but without the backoff's sleep in between.

    The retry *count* and which errors are retried are botocore's own (the fault matrix
    counts them); only the jittered wait (up to seconds per retry) is zero here.
    """
    from botocore.retries.standard import ExponentialBackoff

    ExponentialBackoff.delay_amount = lambda self, context: 0.0  # type: ignore[method-assign]


_one_botocore_loader()
_instant_sdk_backoff()

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


@pytest.fixture(scope="session", autouse=True)
def _dlib_answers_each_input_once() -> None:
    """The local engine's models load once per test process and remember their answers
    (``tests/remembered_models.py``): the suite embeds the same few photos again and again."""
    from tests.remembered_models import remember_answers

    remember_answers()


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    aws = LocalAws()
    _untraced_requests(aws)
    with patched_environ(aws.environment()):
        yield aws
    aws.stop()


def _untraced_requests(aws: LocalAws) -> None:
    """Coverage measures our code, not moto's: each request moto's server answers runs in a
    thread of its own, and that thread drops the tracer coverage gave it. Traced, moto's
    request handling cost about a tenth of the suite under coverage. Our handlers run in the
    test's thread or the pump's; the only code of ours in moto's threads is what
    ``sandbox/moto_internals.py`` puts into moto (its write lock, its retention check), marked
    ``pragma: no cover`` there and tested by ``tests/sandbox/test_local_aws.py``."""
    server: Any = aws._server._server  # moto's werkzeug server: a thread per request
    handle = server.process_request_thread

    def untraced(request: object, client_address: object) -> None:
        sys.settrace(None)
        handle(request, client_address)

    server.process_request_thread = untraced


@pytest.fixture(scope="module")
def module_stage(local_aws: LocalAws) -> Iterator[SharedStage]:
    """The module's stage, with the stage's variables set for the module's tests."""
    with patched_environ(stage_environment("sandbox", {})):
        yield SharedStage(local_aws)
        wiring.reset()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fresh_stack: the test changes the stage itself (deletes a table, a topic…): "
        "its stack is built for it alone, not shared by the module",
    )


@pytest.fixture
def stack(request: pytest.FixtureRequest, module_stage: SharedStage, local_aws: LocalAws) -> Iterator[Stack]:
    """The dev stage in local AWS, as built: the module's, emptied of every test's data after
    it and proven restored (``tests/shared_stack.py``); built for the test alone when it is
    marked ``fresh_stack``."""
    if request.node.get_closest_marker("fresh_stack") is not None:
        local_aws.reset()  # the module's stage is rebuilt for its next test
        with patched_environ(stage_environment("sandbox", {})):
            wiring.reset()
            yield Stack(local_aws)
            wiring.reset()
        return
    built = module_stage.get()
    wiring.reset()  # no adapter cached by an earlier test
    yield built
    wiring.reset()
    changed = module_stage.restore()
    assert not changed, (
        f"the test changed the stage itself ({', '.join(changed)}), which the reset between tests "
        "does not undo: mark it fresh_stack"
    )


@pytest.fixture(scope="module")
def shared_stack(module_stage: SharedStage) -> Stack:
    """One stage for a module whose tests only read it (``read_only_stack``); its users of
    both groups exist from the start, so a test's first token changes nothing."""
    built = module_stage.get()
    for group in ("admins", "security"):
        built.token(group)
    return built


@pytest.fixture
def read_only_stack(shared_stack: Stack) -> Iterator[Stack]:
    """The module's shared stage, checked unchanged after the test (isolation, proven per test)."""
    before = fingerprint(shared_stack)
    wiring.reset()  # no adapter cached by an earlier test
    yield shared_stack
    wiring.reset()
    changed = changes(before, fingerprint(shared_stack))
    assert not changed, f"a test on the shared stack changed it: {', '.join(changed)}"
