"""``infra/template.yaml`` as data, CloudFormation's short tags in their long forms
(``!Ref x`` → ``{"Ref": x}``, ``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``), for code that
plays CloudFormation's part where moto cannot (``sandbox/alarms.py``) and for tests."""

from __future__ import annotations

import copy
import functools
from typing import Any

import yaml

from infra.stage import TEMPLATE


class TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags kept as the long form (``!Ref x`` → ``{"Ref": x}``)."""


def _long_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {key: value}


TemplateLoader.add_multi_constructor("!", _long_form)


def load_template() -> dict[str, Any]:
    """The template as data: a copy of its own, so a caller may change it."""
    return copy.deepcopy(_parsed(TEMPLATE.read_text()))


@functools.cache
def _parsed(text: str) -> dict[str, Any]:
    # Parsing takes about 0.25 s; the sandbox reads the same text for every stack it builds.
    loaded: dict[str, Any] = yaml.load(text, Loader=TemplateLoader)
    return loaded
