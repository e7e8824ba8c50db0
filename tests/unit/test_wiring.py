"""The composition root: ``reset`` forgets every cached factory, however many there are."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.core.config import AuthSettings, Settings


def cached_factories() -> dict[str, Any]:
    """Every function in wiring that keeps results (an lru_cache), found by looking."""
    return {name: value for name, value in vars(wiring).items() if hasattr(value, "cache_info")}


def argument_for(parameter: inspect.Parameter, settings: Settings) -> Any:
    annotation = str(parameter.annotation)
    if annotation == "Settings":
        return settings
    if annotation == "AuthSettings":
        return settings.auth
    assert annotation in ("str", "Service"), f"teach this test to call a factory taking {annotation}"
    return "s3"


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # clients are built, never called
    wiring.reset()
    yield
    wiring.reset()


def test_reset_clears_every_cached_factory(clean: None) -> None:
    settings = Settings.from_env({"FACEGATE_ENGINE": "rekognition"})  # no dlib needed to build it
    assert isinstance(settings.auth, AuthSettings)
    factories = cached_factories()
    assert {"_client", "pipeline_ports", "api_ports", "report_ports", "token_verifier"} <= set(factories)
    for name, factory in factories.items():
        parameters = inspect.signature(factory).parameters.values()
        factory(*(argument_for(parameter, settings) for parameter in parameters))
        assert factory.cache_info().currsize == 1, name

    wiring.reset()
    assert {name: f.cache_info().currsize for name, f in factories.items() if f.cache_info().currsize} == {}


def test_the_api_ports_share_one_set_of_adapters(clean: None) -> None:
    settings = Settings.from_env({"FACEGATE_ENGINE": "rekognition"})
    ports = wiring.api_ports(settings)
    assert ports is wiring.api_ports(settings)
    assert cached_factories()["erasure_ports"].cache_info().currsize == 0  # built only to erase
    assert ports.enrollment.directory is ports.erasure.directory is wiring.pipeline_ports(settings).directory
    assert ports.enrollment.engine is ports.erasure.engine
