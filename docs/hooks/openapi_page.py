"""MkDocs hook: the API reference page, rendered from ``openapi.yaml`` at build time.

The contract is the one file the routes, the tests and schemathesis already read, so the page is
made from it rather than retyped: every path and method with its summary, description, security,
parameters, request body and responses, then every schema of ``components``. The page is plain
Markdown (tables and links), so the site needs no script, no CDN and no network to show it, and
``mkdocs build --strict`` checks its links like any other page's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "api-reference.md"
SPEC = "openapi.yaml"  # relative to the project root (where mkdocs.yml is)
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")

Node = dict[str, Any]


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated page to the site's files (it is named in the nav like any other)."""
    spec_path = Path(config.config_file_path).parent / SPEC
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    files.append(File.generated(config, PAGE, content=render(spec)))
    return files


def render(spec: Node) -> str:
    """The whole page: overview, security, one section per operation, then the schemas."""
    info = spec.get("info", {})
    out = [
        f"# API reference: {info.get('title', 'API')} {info.get('version', '')}".rstrip(),
        "",
        "*Generated from [`openapi.yaml`](../openapi.yaml) when the site is built; edit that file, "
        "not this page. Authentication and worked `curl` examples: [The API](api.md).*",
        "",
        _one_line(info.get("description", "")),
        "",
    ]
    out += _servers(spec) + _security_schemes(spec) + _index(spec)
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                out += _operation(spec, path, method, item)
    out += _schemas(spec)
    return "\n".join(out) + "\n"


def _servers(spec: Node) -> list[str]:
    servers = spec.get("servers", [])
    if not servers:
        return []
    lines = ["## Servers", ""]
    lines += [f"- `{s['url']}`: {_one_line(s.get('description', ''))}" for s in servers]
    return [*lines, ""]


def _security_schemes(spec: Node) -> list[str]:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    lines = ["## Security", "", "| scheme | type | details |", "| --- | --- | --- |"]
    for name, scheme in schemes.items():
        details = ", ".join(f"{key}: {value}" for key, value in scheme.items() if key != "type")
        lines.append(f"| `{name}` | {scheme.get('type', '')} | {_cell(details)} |")
    default = _security_text(spec.get("security", []))
    return [*lines, "", f"Unless an operation says otherwise, every operation needs {default}.", ""]


def _index(spec: Node) -> list[str]:
    lines = ["## Operations", "", "| method | path | operation |", "| --- | --- | --- |"]
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                op = item[method]
                anchor = _slug(f"{method.upper()} {path}")
                lines.append(
                    f"| [{method.upper()}](#{anchor}) | `{path}` | {_cell(op.get('operationId', ''))} |"
                )
    return [*lines, ""]


def _operation(spec: Node, path: str, method: str, item: Node) -> list[str]:
    op: Node = item[method]
    lines = [f"## {method.upper()} {path}", ""]
    if op.get("summary"):
        lines += [f"**{_one_line(op['summary'])}**", ""]
    if op.get("description"):
        lines += [_one_line(op["description"]), ""]
    lines += [f"Operation id: `{op.get('operationId', '-')}`.", ""]
    security: list[Node] = op["security"] if "security" in op else spec.get("security", [])
    lines += [f"Security: {_security_text(security)}.", ""]
    parameters = [_resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
    if parameters:
        lines += [
            "Parameters:",
            "",
            "| name | in | required | type | description |",
            "| --- | --- | --- | --- | --- |",
        ]
        for p in parameters:
            required = "yes" if p.get("required") else "no"
            kind = _cell(_type(spec, p.get("schema", {})))
            lines.append(
                f"| `{p['name']}` | {p['in']} | {required} | {kind} | {_cell(p.get('description', ''))} |"
            )
        lines.append("")
    if "requestBody" in op:
        lines += _request_body(spec, _resolve(spec, op["requestBody"]))
    lines += ["Responses:", "", "| status | description | body |", "| --- | --- | --- |"]
    for status, response in op.get("responses", {}).items():
        resolved = _resolve(spec, response)
        lines.append(
            f"| {status} | {_cell(resolved.get('description', ''))} | {_cell(_content(spec, resolved))} |"
        )
    return [*lines, ""]


def _request_body(spec: Node, body: Node) -> list[str]:
    required = "required" if body.get("required") else "optional"
    lines = [f"Request body ({required}): {_content(spec, body)}", ""]
    for media in body.get("content", {}).values():
        schema = media.get("schema", {})
        if "$ref" not in schema and schema.get("properties"):
            lines += _properties(spec, schema)
    return lines


def _content(spec: Node, node: Node) -> str:
    parts = [
        f"`{media}` {_type(spec, body.get('schema', {}))}" for media, body in node.get("content", {}).items()
    ]
    return "; ".join(parts) or "-"


def _schemas(spec: Node) -> list[str]:
    schemas = spec.get("components", {}).get("schemas", {})
    lines = ["## Schemas", ""]
    for name, schema in schemas.items():
        lines += [f"### {name}", ""]
        if schema.get("description"):
            lines += [_one_line(schema["description"]), ""]
        if schema.get("properties"):
            lines += _properties(spec, schema)
        else:
            lines += [f"Type: {_type(spec, schema)}", ""]
    return lines


def _properties(spec: Node, schema: Node) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| property | type | required | description |", "| --- | --- | --- | --- |"]
    for name, prop in schema.get("properties", {}).items():
        flag = "yes" if name in required else "no"
        lines.append(
            f"| `{name}` | {_cell(_type(spec, prop))} | {flag} | {_cell(prop.get('description', ''))} |"
        )
    if schema.get("additionalProperties") is False:
        lines += ["", "No other properties are accepted."]
    return [*lines, ""]


def _type(spec: Node, schema: Node) -> str:
    """A short, linked description of a schema (pass it through ``_cell`` for a table)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_slug(name)})"
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in schema:
            word = {"allOf": " and ", "oneOf": " or ", "anyOf": " or "}[combinator]
            text = word.join(_type(spec, part) for part in schema[combinator])
            return text + (" (nullable)" if schema.get("nullable") else "")
    kind = str(schema.get("type", "any"))
    if kind == "array":
        text = f"array of {_type(spec, schema.get('items', {}))}"
    elif kind == "object" and schema.get("properties"):
        text = "object {" + ", ".join(f"`{key}`" for key in schema["properties"]) + "}"
    else:
        text = kind + (f" ({schema['format']})" if "format" in schema else "")
    if "enum" in schema:
        text += ": " + " | ".join(f"`{value}`" for value in schema["enum"])
    bounds = [
        f"{key} {schema[key]}"
        for key in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "default")
        if key in schema
    ]
    if "pattern" in schema:
        bounds.append(f"pattern `{schema['pattern']}`")
    if schema.get("nullable"):
        bounds.append("nullable")
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _security_text(requirements: list[Node]) -> str:
    if not requirements:
        return "no authentication"
    return " or ".join(
        " and ".join(
            f"`{name}`" + (f" (scopes {', '.join(scopes)})" if scopes else "") for name, scopes in r.items()
        )
        for r in requirements
    )


def _resolve(spec: Node, node: Node) -> Node:
    """Follow local ``$ref``s (``#/components/...``); the spec has no remote ones."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _slug(text: str) -> str:
    """The anchor Python-Markdown's ``toc`` gives a heading of ``text`` (its default slugify)."""
    from markdown.extensions.toc import slugify

    return str(slugify(text, "-"))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")
