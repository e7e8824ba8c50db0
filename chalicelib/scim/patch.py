"""A SCIM PATCH (RFC 7644 §3.5.2) as the changes to an employee: name, email, active.

What Okta and Entra ID send is read as they send it: ``{"op": "replace", "value": {"active":
false}}``, ``{"op": "Replace", "path": "active", "value": "False"}`` (Entra's booleans are
strings), ``emails[type eq "work"].value``, ``name.givenName`` and ``name.familyName`` as
separate operations. Attributes facegate does not keep are ignored, as on create; a path
that is not even a path is ``invalidPath``. ``userName`` (the employee id) cannot change.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.core.errors import BadRequest, ScimRefused
from chalicelib.enrollment import employee_rules
from chalicelib.scim.resources import PATCH_SCHEMA, USER_PREFIX, active_of, email_of, folded, name_of

MAX_OPERATIONS = 25
# An attribute path: optional schema URN, attribute, optional [simple filter], optional .sub
PATH = re.compile(
    r"(?:urn:[A-Za-z0-9:._-]{1,150}:)?[A-Za-z][A-Za-z0-9_-]{0,63}"
    r"(?:\[[^\[\]\n]{1,120}\])?(?:\.[A-Za-z][A-Za-z0-9_-]{0,63})?"
)


def changes_of(body: dict[str, Any], employee_id: str) -> dict[str, Any]:
    """The employee changes a PatchOp body asks for (possibly none), validated."""
    if body.get("schemas") != [PATCH_SCHEMA]:
        raise ScimRefused(f"schemas must be [{PATCH_SCHEMA}]", "invalidSyntax")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not 1 <= len(operations) <= MAX_OPERATIONS:
        raise ScimRefused(f"Operations must be a list of 1–{MAX_OPERATIONS} operations", "invalidSyntax")
    found: dict[str, Any] = {}
    for operation in operations:
        _apply(operation, found, employee_id)
    given, family, name = found.pop("given", None), found.pop("family", None), found.pop("name", None)
    if name is None and given and family:  # one half of a name alone changes nothing
        name = f"{given} {family}"
    if name is not None:
        found["name"] = name
    if not found:
        return {}
    try:
        return employee_rules.employee_changes(found)
    except BadRequest as refused:
        raise ScimRefused(str(refused), "invalidValue") from None


def _apply(operation: Any, found: dict[str, Any], employee_id: str) -> None:
    if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
        raise ScimRefused("each operation needs an op: add, replace or remove", "invalidSyntax")
    op = operation["op"].lower()
    if op not in ("add", "replace", "remove"):
        raise ScimRefused("op must be add, replace or remove", "invalidSyntax")
    path = operation.get("path")
    if path is None:
        if op == "remove":
            raise ScimRefused("remove needs a path", "noTarget")
        value = operation.get("value")
        if not isinstance(value, dict):
            raise ScimRefused("an operation without a path needs an object value", "invalidValue")
        # one object, so one name per attribute (``folded``): ``{"active": false, "ACTIVE":
        # true}`` would otherwise be decided by the order of its keys
        for key, item in folded(value, "an operation's value").items():
            _set(_attribute(key), item, found, employee_id)
        return
    if not isinstance(path, str) or not PATH.fullmatch(path):
        raise ScimRefused("path is not an attribute path", "invalidPath")
    if op == "remove":
        _remove(_attribute(path), found)
    else:
        _set(_attribute(path), operation.get("value"), found, employee_id)


def _attribute(path: str) -> str:
    """The path's attribute, lower case, without the User schema's URN and a filter's spaces."""
    if not isinstance(path, str) or len(path) > 300:
        raise ScimRefused("path is not an attribute path", "invalidPath")
    lowered = path.lower()
    return lowered[len(USER_PREFIX) :] if lowered.startswith(USER_PREFIX) else lowered


def _set(attribute: str, value: Any, found: dict[str, Any], employee_id: str) -> None:
    if attribute == "active":
        found["active"] = active_of(value)
    elif attribute in ("displayname", "name.formatted"):
        found["name"] = name_of({"displayName": value})
    elif attribute == "name":
        found["name"] = name_of({"name": value})
    elif attribute in ("name.givenname", "name.familyname"):
        found["given" if attribute.endswith("givenname") else "family"] = name_of({"displayName": value})
    elif attribute == "emails":
        found["email"] = email_of(value if isinstance(value, list) else [value])
    elif attribute.startswith("emails[") and attribute.endswith("].value"):
        found["email"] = email_of([{"value": value}])
    elif attribute == "username" and value != employee_id:
        raise ScimRefused("userName is the employee id and cannot change", "mutability")
    # anything else facegate does not keep: ignored, as on create


def _remove(attribute: str, found: dict[str, Any]) -> None:
    if attribute == "emails" or attribute.startswith("emails["):
        found["email"] = None
    elif attribute in ("active", "username", "name", "name.formatted", "displayname"):
        raise ScimRefused(f"{attribute} is required and cannot be removed", "mutability")
