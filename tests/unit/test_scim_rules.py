"""SCIM's pure rules: what a PATCH changes, which filters are answered, how a User maps to an
employee, and the token check (no stack: fakes and plain values)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.errors import ScimRefused, Unauthorized
from chalicelib.scim import credential
from chalicelib.scim.filters import filtered_id
from chalicelib.scim.patch import changes_of
from chalicelib.scim.resources import new_employee, projected

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        ([{"op": "replace", "value": {"active": False}}], {"active": False}),  # Okta
        ([{"op": "Replace", "path": "active", "value": "False"}], {"active": False}),  # Entra ID
        ([{"op": "replace", "path": "active", "value": "TRUE"}], {"active": True}),
        (
            [
                {"op": "Replace", "path": "name.givenName", "value": "Ada"},
                {"op": "Replace", "path": "name.familyName", "value": "King"},
            ],
            {"name": "Ada King"},
        ),
        ([{"op": "replace", "path": "name.givenName", "value": "Ada"}], {}),  # half a name: nothing
        ([{"op": "replace", "path": "displayName", "value": " Ada "}], {"name": "Ada"}),
        ([{"op": "add", "path": 'emails[type eq "work"].value', "value": "a@b.co"}], {"email": "a@b.co"}),
        ([{"op": "remove", "path": 'emails[type eq "work"]'}], {"email": None}),
        (
            [{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:active", "value": False}],
            {"active": False},
        ),
        (
            [
                {"op": "add", "path": "title", "value": "x"},
                {"op": "replace", "path": "userName", "value": "E1"},
            ],
            {},
        ),
    ],
)
def test_what_a_patch_changes(operations: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert changes_of(ops(*operations), "E1") == expected


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": [{"op": "replace", "value": {"active": False}}]}, "invalidSyntax"),
        (ops(), "invalidSyntax"),
        (ops(*[{"op": "replace", "path": "active", "value": True}] * 26), "invalidSyntax"),
        (ops({"op": "move", "path": "active"}), "invalidSyntax"),
        (ops({"op": "remove"}), "noTarget"),
        (ops({"op": "replace", "path": "a b", "value": 1}), "invalidPath"),
        (ops({"op": "replace", "path": "x" * 400, "value": 1}), "invalidPath"),
        (ops({"op": "replace", "path": "userName", "value": "E2"}), "mutability"),
        (ops({"op": "remove", "path": "active"}), "mutability"),
        (ops({"op": "replace", "path": "active", "value": "yes"}), "invalidValue"),
        (ops({"op": "replace", "value": ["active"]}), "invalidValue"),
        (ops({"op": "replace", "path": "displayName", "value": "x" * 201}), "invalidValue"),
        (ops({"op": "replace", "path": "displayName", "value": "a\nb"}), "invalidValue"),
        (ops({"op": "replace", "path": "emails", "value": [{"value": "nope"}]}), "invalidValue"),
    ],
)
def test_a_bad_patch_is_refused_with_its_scim_type(body: dict[str, Any], scim_type: str) -> None:
    with pytest.raises(ScimRefused) as refused:
        changes_of(body, "E1")
    assert refused.value.scim_type == scim_type


@pytest.mark.parametrize(
    ("raw", "wanted"),
    [
        (None, None),
        ('userName eq "E1"', "E1"),
        ('USERNAME EQ "E1"', "E1"),
        ('externalId eq "a\\"b"', 'a"b'),
        (' id eq "ok@x" ', "ok@x"),
    ],
)
def test_the_filters_answered(raw: str | None, wanted: str | None) -> None:
    assert filtered_id(raw) == wanted


def test_mapping_a_user_to_an_employee() -> None:
    employee = new_employee(
        {
            "userName": "E7",
            "name": {"givenName": "Ada", "familyName": "King"},
            "emails": [{"value": "w@x.co"}, {"value": "p@x.co", "primary": "True"}],
            "active": "False",
            "password": "ignored",
        }
    )
    assert (employee.employee_id, employee.name, employee.email, employee.active) == (
        "E7",
        "Ada King",
        "p@x.co",
        False,
    )
    assert new_employee({"userName": "E8"}).name == "E8"  # no name at all: the userName
    resource = {"schemas": [], "id": "E1", "meta": {}, "displayName": "A", "emails": []}
    assert set(projected(resource, "displayName", None)) == {"schemas", "id", "meta", "displayName"}
    assert set(projected(resource, None, "emails,id")) == {"schemas", "id", "meta", "displayName"}


class Stored:
    def __init__(self, digest: str | None) -> None:
        self.stored = digest

    def digest(self) -> str | None:
        return self.stored

    def store(self, digest: str) -> None:
        self.stored = digest


def test_the_token_check() -> None:
    token = credential.new_token()
    assert token.startswith("fgscim_") and len(token) >= 50 and token != credential.new_token()
    stored = Stored(credential.digest(token))
    credential.check(f"Bearer {token}", stored)
    credential.check(f"bearer  {token} ", stored)
    for header in (
        None,
        "",
        token,
        f"Basic {token}",
        f"Bearer {token}x",
        "Bearer " + "a" * 600,
        "Bearer \udcff",
    ):
        with pytest.raises(Unauthorized, match=f"^{credential.REFUSED}$"):
            credential.check(header, stored)
    with pytest.raises(Unauthorized, match=f"^{credential.REFUSED}$"):
        credential.check(f"Bearer {token}", Stored(None))  # none issued yet
    assert stored.stored is not None and token not in stored.stored  # only the hash is kept


URN = "urn:ietf:params:scim:schemas:core:2.0:User:"
SAME_ATTRIBUTE_TWICE = [  # SCIM names are case-insensitive: one attribute, two values (B7)
    {"active": False, "ACTIVE": True},
    {"ACTIVE": True, "active": False},
    {"active": False, URN + "active": True},
    {"displayName": "A", "DisplayName": "B"},
    {"displayName": "A", URN.upper() + "displayname": "B"},
    {"name": {"formatted": "A", "FORMATTED": "B"}},
    {"emails": [{"value": "a@b.co", "Value": "c@d.co"}]},
]


@pytest.mark.parametrize("value", SAME_ATTRIBUTE_TWICE)
def test_one_attribute_named_twice_in_a_patch_value_is_refused(value: dict[str, Any]) -> None:
    with pytest.raises(ScimRefused) as refused:
        changes_of(ops({"op": "replace", "value": value}), "E1")
    assert refused.value.fields == {"scimType": "invalidSyntax"}


@pytest.mark.parametrize("value", SAME_ATTRIBUTE_TWICE)
def test_one_attribute_named_twice_in_a_user_is_refused(value: dict[str, Any]) -> None:
    with pytest.raises(ScimRefused) as refused:
        new_employee(
            {"userName": "E1", "displayName": "X", **value}
            if "displayName" not in value
            else {"userName": "E1", **value}
        )
    assert refused.value.fields == {"scimType": "invalidSyntax"}


@pytest.mark.parametrize("key", ["Active", "ACTIVE", URN + "active", URN.upper() + "Active"])
def test_attribute_names_are_case_insensitive_in_a_user_and_a_patch(key: str) -> None:
    """B7: {"Active": false} on POST or PUT was ignored (the user stayed active)."""
    user = new_employee(
        {"USERNAME": "E1", "DisplayName": "Ada King", key: False, "Emails": [{"VALUE": "a@b.co"}]}
    )
    assert (user.employee_id, user.name, user.active, user.email) == ("E1", "Ada King", False, "a@b.co")
    assert changes_of(ops({"op": "replace", "value": {key: "False"}}), "E1") == {"active": False}
    assert changes_of(ops({"op": "replace", "value": {"NAME": {"Formatted": "Ada"}}}), "E1") == {
        "name": "Ada"
    }


def test_user_name_is_advertised_case_exact() -> None:
    """B5: ids are case-sensitive everywhere; the schema says so (docs/scim.md)."""
    from chalicelib.scim.discovery import user_schema

    [user_name] = [a for a in user_schema("/scim/v2")["attributes"] if a["name"] == "userName"]
    assert user_name["caseExact"] is True and user_name["uniqueness"] == "server"


def test_the_case_twin_check_is_bounded_and_refuses_past_its_bound() -> None:
    """The check reads at most MAX_PAGES pages of the directory: past them SCIM creates no
    one (tooMany) rather than skip it; below, a case twin anywhere is found."""
    from chalicelib.core.errors import AlreadyExists
    from chalicelib.core.models import Employee
    from chalicelib.enrollment.employees import EnrollmentPorts
    from chalicelib.scim import users
    from tests.fakes import (
        InMemoryAuditLog,
        InMemoryConsentLedger,
        InMemoryEmployeeDirectory,
        InMemoryScanLog,
    )

    bound = users.MAX_PAGES * users.PAGE
    directory = InMemoryEmployeeDirectory(*(Employee(f"E{n:05}", "X") for n in range(bound)))
    engine: Any = None  # never reached: no face is created
    enrollment = EnrollmentPorts(
        directory, engine, InMemoryAuditLog(), InMemoryScanLog(), InMemoryConsentLedger()
    )
    ports = users.ScimPorts(enrollment, None, None)  # type: ignore[arg-type]
    with pytest.raises(AlreadyExists):  # the last page's employee, in another case
        users.create_user({"userName": f"e{bound - 1:05}"}, ports, "/scim/v2")
    directory.employees["Z"] = Employee("Z", "X")  # one page more than the bound
    with pytest.raises(ScimRefused) as refused:
        users.create_user({"userName": "NEW1"}, ports, "/scim/v2")
    assert refused.value.fields == {"scimType": "tooMany"} and "NEW1" not in directory.employees
