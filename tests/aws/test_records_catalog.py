"""The template's Glue database and table, Athena workgroup and named query are what Glue's and
Athena's APIs accept: each resource's properties, resolved for a stage, sent through botocore
(which checks them against the services' models) to local AWS, and read back."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.deploy import stack_buckets
from infra.template import load_template
from sandbox.stack import Stack
from tests.records import columns, named_query

ACCOUNT, REGION = "123456789012", "us-east-1"


class Resolved:
    """The template's values for one stage: the intrinsic functions these resources use."""

    def __init__(self, stage: str) -> None:
        self.template: dict[str, Any] = load_template()  # short tags in their long forms
        self.values = {
            "Stage": stage,
            "RetentionDays": "30",
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
        }

    def properties(self, name: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.value(self.template["Resources"][name]["Properties"])
        return properties

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if list(node) == ["Ref"]:
            return self.ref(node["Ref"])
        if list(node) == ["Fn::Sub"]:
            return re.sub(r"\$\{(!?)([^}]+)\}", self._substitute, node["Fn::Sub"])
        if list(node) == ["Fn::Join"]:
            separator, items = self.value(node["Fn::Join"])
            return separator.join(items)
        if list(node) == ["Fn::Split"]:
            separator, text = self.value(node["Fn::Split"])
            return text.split(separator)
        return {key: self.value(item) for key, item in node.items()}

    def _substitute(self, match: re.Match[str]) -> str:
        literal, name = match.groups()
        return f"${{{name}}}" if literal else str(self.ref(name))

    def ref(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        resource = self.template["Resources"][name]
        properties = self.value(resource["Properties"])
        return {
            "AWS::S3::Bucket": lambda: properties["BucketName"],
            "AWS::Glue::Database": lambda: properties["DatabaseInput"]["Name"],
            "AWS::Athena::WorkGroup": lambda: properties["Name"],
        }[resource["Type"]]()


@pytest.mark.fresh_stack
@pytest.mark.parametrize(("stage", "database"), [("prod", "facegate_prod"), ("eu-west", "facegate_eu_west")])
def test_the_catalog_and_the_named_query_are_what_glue_and_athena_accept(
    stack: Stack, stage: str, database: str
) -> None:
    resolved = Resolved(stage)
    glue: Any = stack.session.client("glue")
    athena: Any = stack.session.client("athena")

    db = resolved.properties("RecordsDatabase")
    assert db["DatabaseInput"]["Name"] == database  # Athena's names: no hyphens
    glue.create_database(CatalogId=db["CatalogId"], DatabaseInput=db["DatabaseInput"])
    table = resolved.properties("ScanRecordsTable")
    glue.create_table(
        CatalogId=table["CatalogId"], DatabaseName=table["DatabaseName"], TableInput=table["TableInput"]
    )
    stored = glue.get_table(DatabaseName=database, Name="scans")["Table"]
    assert {c["Name"]: c["Type"] for c in stored["StorageDescriptor"]["Columns"]} == columns()
    bucket = f"facegate-{stage}-camera-{ACCOUNT}"
    assert stored["Parameters"]["storage.location.template"] == f"s3://{bucket}/processed/dt=${{dt}}/"
    assert stored["Parameters"]["projection.dt.range"] == "NOW-30DAYS,NOW+1DAYS"

    group = resolved.properties("RecordsWorkGroup")
    athena.create_work_group(
        Name=group["Name"], Description=group["Description"], Configuration=group["WorkGroupConfiguration"]
    )
    results = athena.get_work_group(WorkGroup=group["Name"])["WorkGroup"]["Configuration"][
        "ResultConfiguration"
    ]
    assert results["OutputLocation"] == f"s3://facegate-{stage}-query-results-{ACCOUNT}/"

    query = resolved.properties("UnknownAtACameraQuery")
    query_id = athena.create_named_query(**query)["NamedQueryId"]
    saved = athena.get_named_query(NamedQueryId=query_id)["NamedQuery"]
    assert (saved["Database"], saved["WorkGroup"]) == (database, group["Name"])
    assert saved["QueryString"] == named_query()


@pytest.mark.fresh_stack
def test_destroy_empties_every_bucket_of_the_stack_not_only_the_cameras(stack: Stack) -> None:
    # The query results bucket must be empty too, or deleting the stack fails.
    cloudformation = stack.session.client("cloudformation")
    two_buckets = {
        "Resources": {
            "CameraBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "records-camera"}},
            "QueryResultsBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": "records-results"},
            },
            "Topic": {"Type": "AWS::SNS::Topic"},
        }
    }
    cloudformation.create_stack(StackName="records-buckets", TemplateBody=json.dumps(two_buckets))
    assert sorted(stack_buckets(cloudformation, "records-buckets")) == ["records-camera", "records-results"]
    assert stack_buckets(cloudformation, "facegate-sandbox") == [stack.settings.camera_bucket]
