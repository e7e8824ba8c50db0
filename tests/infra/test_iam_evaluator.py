"""The test evaluator's reading of IAM: what a Condition means, and what a call carries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Key

from tests.infra.iam import conditions_hold, requests_of

ONLY_OURS = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["daily-report"]}}


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        (ONLY_OURS, {"dynamodb:LeadingKeys": ("daily-report",)}, True),
        (ONLY_OURS, {"dynamodb:LeadingKeys": ("EMP001",)}, False),
        (ONLY_OURS, {}, True),  # ForAllValues over no values: IAM's well-known trap
        ({"ForAnyValue:StringEquals": {"k": ["a"]}}, {}, False),
        ({"StringEquals": {"k": ["a", "b"]}}, {"k": ("b",)}, True),
        ({"StringEquals": {"k": "a"}}, {}, False),
        ({"StringEqualsIfExists": {"k": "a"}}, {}, True),
        ({"StringEqualsIfExists": {"k": "a"}}, {"k": ("b",)}, False),
        ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": ("c",)}, True),
        ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": ("b",)}, False),
        ({"ForAllValues:StringNotEquals": {"k": ["a"]}}, {"k": ("b", "a")}, False),
        ({"StringLike": {"s3:prefix": ["processed/*"]}}, {"s3:prefix": ("processed/x",)}, True),
        ({"StringLike": {"s3:prefix": ["processed/*"]}}, {"s3:prefix": ("incoming/x",)}, False),
        ({"StringEquals": {"a": "1"}, "StringLike": {"b": "2*"}}, {"a": ("1",), "b": ("3",)}, False),
        ({"Null": {"k": "true"}}, {}, True),  # "true": the request carries no such key
        ({"Null": {"k": "true"}}, {"k": ("AES256",)}, False),
        ({"Null": {"k": "false"}}, {"k": ("AES256",)}, True),
    ],
)
def test_conditions_read_as_iam_reads_them(
    condition: dict[str, dict[str, str | list[str]]], context: dict[str, tuple[str, ...]], holds: bool
) -> None:
    assert conditions_hold(condition, context) is holds


def test_an_operator_it_does_not_know_is_an_error_not_an_allow() -> None:
    with pytest.raises(ValueError):
        conditions_hold({"NumericLessThan": {"k": "1"}}, {"k": ("0",)})


def test_a_write_carries_its_partition_key_and_every_attribute_it_names() -> None:
    [request] = requests_of(
        "dynamodb",
        "UpdateItem",
        {
            "TableName": "facegate-dev-audit",
            "Key": {"target": "daily-report", "entry": "2026-01-05"},
            "UpdateExpression": "SET #state = :s, totals.ok = :n, history[0] = :h REMOVE failure",
            "ConditionExpression": "attribute_exists(entry) AND begins_with(#state, :p)",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":s": "SENT", ":n": Decimal(1), ":h": "x", ":p": "S"},
        },
    )
    assert request.context["dynamodb:LeadingKeys"] == ("daily-report",)
    assert request.context["dynamodb:Attributes"] == (
        "entry",
        "failure",
        "history",
        "state",
        "target",
        "totals",
    )


def test_a_query_carries_its_partition_key_from_a_boto3_condition() -> None:
    [request] = requests_of(
        "dynamodb",
        "Query",
        {"TableName": "facegate-dev-faces", "KeyConditionExpression": Key("employee_id").eq("EMP001")},
    )
    assert request.context["dynamodb:LeadingKeys"] == ("EMP001",)
    assert request.context["dynamodb:Select"] == ("ALL_ATTRIBUTES",)


def test_a_projected_batch_read_names_the_attributes_it_returns_for_each_key() -> None:
    table: dict[str, object] = {
        "Keys": [{"employee_id": "E1"}, {"employee_id": "E2"}],
        "ProjectionExpression": "employee_id, #m",
        "ExpressionAttributeNames": {"#m": "erasure_job"},
    }
    requests = requests_of("dynamodb", "BatchGetItem", {"RequestItems": {"facegate-dev-employees": table}})
    assert [r.context["dynamodb:LeadingKeys"] for r in requests] == [("E1",), ("E2",)]
    for request in requests:
        assert request.context["dynamodb:Select"] == ("SPECIFIC_ATTRIBUTES",)
        assert request.context["dynamodb:Attributes"] == ("employee_id", "erasure_job")
