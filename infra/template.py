"""``infra/template.yaml`` as data, CloudFormation's short tags in their long forms
(``!Ref x`` → ``{"Ref": x}``, ``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``), for code that
plays CloudFormation's part where moto cannot (``sandbox/alarms.py``) and for tests."""

from __future__ import annotations

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
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=TemplateLoader)
    return loaded
