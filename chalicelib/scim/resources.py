"""An employee as a SCIM User and a SCIM User as an employee's fields (RFC 7643).

The mapping (docs/scim.md): ``userName`` *is* the employee id (the employee-id rules apply;
the SCIM ``id`` is the same value, so it never changes); the name is ``name.formatted``, else
``displayName``, else ``name.givenName`` and ``name.familyName``, else the userName; the email is the primary
(else the first) of ``emails``; ``active`` is the employee's. Attributes facegate does not keep
(``password``, ``locale``, ``phoneNumbers``…) are ignored, as RFC 7644 allows; the ones it
keeps are validated by the employee rules the API uses.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.display import display_text
from chalicelib.core.errors import BadRequest, ScimRefused
from chalicelib.core.models import Employee
from chalicelib.enrollment import employee_rules

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_TEXT = 256  # any single string facegate reads from a SCIM body
USER_PREFIX = USER_SCHEMA.lower() + ":"


def folded(document: dict[str, Any], where: str = "the body") -> dict[str, Any]:
    """``document`` with its attribute names as SCIM compares them (RFC 7643 §2.1: case-
    insensitive; a core attribute may be named with the User schema's URN in front): lower
    case, without that URN. Two keys naming one attribute (``active`` and ``ACTIVE``, or
    ``urn:…:User:active``) are ``invalidSyntax``: which one counted would depend on their order."""
    names: dict[str, Any] = {}
    for key, value in document.items():
        name = key.lower()
        name = name[len(USER_PREFIX) :] if name.startswith(USER_PREFIX) else name
        if name in names:
            raise ScimRefused(
                f"{where} names the attribute '{display_text(key, 80)}' twice (names are case-insensitive)",
                "invalidSyntax",
            )
        names[name] = value
    return names


def user_resource(employee: Employee, base_url: str) -> dict[str, Any]:
    """The SCIM User of an employee."""
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": employee.employee_id,
        "userName": employee.employee_id,
        "displayName": employee.name,
        "name": {"formatted": employee.name},
        "active": employee.active,
        "meta": {"resourceType": "User", "location": f"{base_url}/Users/{employee.employee_id}"},
    }
    if employee.email:
        resource["emails"] = [{"value": employee.email, "primary": True}]
    return resource


def new_employee(body: dict[str, Any]) -> Employee:
    """The employee a POST (or PUT: ``userName`` must then be the id) describes; attribute
    names are matched case-insensitively (``folded``)."""
    body = folded(body)
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or USER_SCHEMA not in schemas):
        raise ScimRefused(f"schemas must include {USER_SCHEMA}", "invalidSyntax")
    user_name = body.get("username")
    if not isinstance(user_name, str):
        raise ScimRefused("userName is required: the employee id", "invalidValue")
    fields: dict[str, Any] = {"employee_id": user_name, "name": name_of(body, user_name)}
    email = email_of(body.get("emails"))
    if email is not None:
        fields["email"] = email
    try:
        employee = employee_rules.new_employee(fields)
    except BadRequest as refused:
        raise ScimRefused(f"{refused} (userName is the employee id)", "invalidValue") from None
    if "active" in body:
        return Employee(employee.employee_id, employee.name, active_of(body["active"]), employee.email)
    return employee


def name_of(body: dict[str, Any], fallback: str | None = None) -> str:
    """``name.formatted``, else ``displayName``, else given and family names, else ``fallback``
    (on create and PUT: the userName, so a user the IdP sends without a name still exists)."""
    body = folded(body)
    name = body.get("name")
    if name is not None and not isinstance(name, dict):
        raise ScimRefused("name must be an object", "invalidValue")
    parts = folded(name or {}, "name")
    for value in (parts.get("formatted"), body.get("displayname")):
        if value is not None:
            return _text(value, "name")
    joined = " ".join(_text(parts[key], "name") for key in ("givenname", "familyname") if parts.get(key))
    if not joined and fallback is not None:
        return fallback
    if not joined:
        raise ScimRefused("a name is required: name.formatted, displayName or name.givenName", "invalidValue")
    return joined


def email_of(emails: Any) -> str | None:
    """The primary address of ``emails`` (else the first); None for none."""
    if emails is None:
        return None
    if not isinstance(emails, list) or len(emails) > 10 or not all(isinstance(e, dict) for e in emails):
        raise ScimRefused("emails must be a list of at most 10 objects", "invalidValue")
    if not emails:
        return None
    emails = [folded(email, "an email") for email in emails]
    chosen = next((e for e in emails if active_of(e.get("primary", False))), emails[0])
    return _text(chosen.get("value"), "emails.value")


def active_of(value: Any) -> bool:
    """A boolean, or Entra ID's "True"/"False" strings; anything else is refused."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimRefused("active must be true or false", "invalidValue")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ScimRefused(f"{field} must be a string of at most {MAX_TEXT} characters", "invalidValue")
    return value


ALWAYS_RETURNED = frozenset({"schemas", "id", "meta"})
MAX_LISTED_ATTRIBUTES = 20


def projected(resource: dict[str, Any], attributes: str | None, excluded: str | None) -> dict[str, Any]:
    """``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5) on a User's top-level
    attributes (``name.givenName`` counts as ``name``); ``schemas``, ``id`` and ``meta`` stay."""
    if attributes is not None:
        wanted = _attribute_names(attributes) | ALWAYS_RETURNED
        return {key: value for key, value in resource.items() if key.lower() in wanted}
    if excluded is not None:
        unwanted = _attribute_names(excluded) - ALWAYS_RETURNED
        return {key: value for key, value in resource.items() if key.lower() not in unwanted}
    return resource


def _attribute_names(raw: str) -> frozenset[str]:
    names = [name.strip().lower() for name in raw.split(",", MAX_LISTED_ATTRIBUTES)]
    if len(names) > MAX_LISTED_ATTRIBUTES or any(len(name) > 200 for name in names):
        raise ScimRefused(
            f"at most {MAX_LISTED_ATTRIBUTES} attributes of at most 200 characters", "invalidValue"
        )
    prefix = USER_SCHEMA.lower() + ":"
    return frozenset(name.removeprefix(prefix).split(".", 1)[0] for name in names)
