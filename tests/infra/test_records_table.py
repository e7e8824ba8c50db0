"""The analysts' Glue table, workgroup and named query in the template: columns that are the
record's fields with their types, partitions where the pipeline writes, results kept safe."""

from __future__ import annotations

import pytest

from chalicelib.core.keys import PARTITION_COLUMN, PROCESSED_PREFIX, processed_key
from chalicelib.core.models import BoundingBox, Decision, Reason, Scan, Status
from sandbox.stack import PROJECT_DIR
from tests.infra.test_key_layout import object_paths
from tests.infra.test_template import resource, template
from tests.records import columns, duckdb_type, hive_type_of, named_query, partition_keys, table_input

# A record with every field set, so that each has a type to compare (a new field must be
# given a value here, which makes it show up below).
EVERY_FIELD_SET = Scan(
    scan_id="0123456789abcdef0123456789abcdef",
    camera_id="loading-dock",
    object_key="incoming/loading-dock/a.jpg",
    object_version="v1",
    captured_at="2026-03-08T14:29:59.500Z",
    processed_at="2026-03-08T14:30:00.100Z",
    day="2026-03-08",
    decision=Decision(
        Status.DENIED,
        reason="no rule lets them through this door on a holiday",
        reason_code=Reason.HOLIDAY_CLOSED,
        employee_id="EMP001",
        employee_name="Avery Stone",
        similarity=93.25,
        faces_in_frame=1,
        face_box=BoundingBox(10, 12, 200, 210),
        door_id="loading-dock",
        access_rule="staff",
        holiday="founders-day",
    ),
    engine="local",
    expires_at=1_775_000_000,
).to_dict()


def test_the_sample_record_sets_every_field() -> None:
    assert [name for name, value in EVERY_FIELD_SET.items() if value is None] == []


def test_every_field_of_the_record_is_a_column_and_every_column_a_field() -> None:
    assert set(columns()) == set(EVERY_FIELD_SET)


@pytest.mark.parametrize("name", list(EVERY_FIELD_SET))
def test_each_column_has_the_type_of_its_field(name: str) -> None:
    assert columns()[name] == hive_type_of(EVERY_FIELD_SET[name])


def test_the_table_reads_json_lines_with_the_json_serde() -> None:
    table = table_input()
    descriptor = table["StorageDescriptor"]
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert descriptor["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"  # a record per line
    assert descriptor["Location"] == f"s3://${{CameraBucket}}/{PROCESSED_PREFIX}"
    assert table["TableType"] == "EXTERNAL_TABLE"


def test_the_partitions_are_projected_where_the_pipeline_writes_the_copies() -> None:
    assert partition_keys() == {PARTITION_COLUMN: "string"}
    parameters = table_input()["Parameters"]
    template_of = parameters["storage.location.template"]
    assert (
        template_of
        == f"s3://${{CameraBucket}}/{PROCESSED_PREFIX}{PARTITION_COLUMN}=${{!{PARTITION_COLUMN}}}/"
    )
    # The copy of a scan of 31 March lands in the folder Athena projects for dt='2026-03-31'.
    folder = template_of.replace("s3://${CameraBucket}/", "").replace("${!dt}", "2026-03-31")
    assert processed_key("0" * 32, "2026-03-31") == f"{folder}{'0' * 32}.json"
    assert parameters["projection.enabled"] == "true"
    assert (parameters["projection.dt.type"], parameters["projection.dt.format"]) == ("date", "yyyy-MM-dd")
    # From the retention window back (older copies have expired) to a day ahead of UTC's
    # today, which a site east of UTC has reached already.
    assert parameters["projection.dt.range"] == "NOW-${RetentionDays}DAYS,NOW+1DAYS"


def test_duckdb_types_follow_the_hive_types() -> None:
    assert duckdb_type("string") == "VARCHAR"
    assert duckdb_type("struct<left:int,top:int>") == 'STRUCT("left" INTEGER, "top" INTEGER)'
    assert duckdb_type("struct<a:struct<b:double,c:int>,d:string>") == (
        'STRUCT("a" STRUCT("b" DOUBLE, "c" INTEGER), "d" VARCHAR)'
    )


def test_the_named_query_runs_in_the_workgroup_on_the_table_with_parameters() -> None:
    query = resource("UnknownAtACameraQuery")
    assert (query["Database"], query["WorkGroup"]) == ("RecordsDatabase", "RecordsWorkGroup")
    sql = named_query()
    assert "FROM scans" in sql and sql.count("?") == 3  # the camera, the first and the last day
    assert "dt BETWEEN ? AND ?" in sql  # on the partition column: Athena reads only those days


def test_the_workgroup_goes_with_the_stack_even_after_queries_ran() -> None:
    assert resource("RecordsWorkGroup")["RecursiveDeleteOption"] is True


def test_query_results_are_encrypted_private_and_short_lived() -> None:
    configuration = resource("RecordsWorkGroup")["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True  # a client cannot send them elsewhere
    results = configuration["ResultConfiguration"]
    assert results["OutputLocation"] == "s3://${QueryResultsBucket}/"
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    bucket = resource("QueryResultsBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert "Prefix" not in rule and rule["ExpirationInDays"] == 1  # every result, a day at most
    [tls_only] = resource("QueryResultsBucketPolicy")["PolicyDocument"]["Statement"]
    assert tls_only["Effect"] == "Deny" and tls_only["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }


def test_analysts_read_the_records_and_never_a_photo() -> None:
    statements = resource("RecordsAnalystPolicy")["PolicyDocument"]["Statement"]
    assert all(statement["Effect"] == "Allow" for statement in statements)
    on_camera_bucket = [
        statement
        for statement in statements
        if any("CameraBucket" in text for text in _texts(statement["Resource"]))
    ]
    camera_objects = [
        path.removeprefix("${CameraBucket.Arn}/")
        for statement in on_camera_bucket
        for path in [*_texts(statement["Resource"]), *object_paths({"Statement": [statement]})]
        if "/" in path
    ]
    assert set(camera_objects) == {f"{PROCESSED_PREFIX}*"}
    assert {a for s in on_camera_bucket for a in _texts(s["Action"])} == {
        "s3:GetObject",
        "s3:ListBucket",
        "s3:GetBucketLocation",
    }


def test_the_records_resources_exist_only_in_aws() -> None:
    names = ["RecordsDatabase", "ScanRecordsTable", "QueryResultsBucket", "QueryResultsBucketPolicy"]
    names += ["RecordsWorkGroup", "UnknownAtACameraQuery", "RecordsAnalystPolicy"]
    assert {name: template()["Resources"][name].get("Condition") for name in names} == dict.fromkeys(
        names, "InAws"
    )


def _texts(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_the_readme_shows_the_named_query_as_deployed() -> None:
    page = PROJECT_DIR / "docs" / "operations" / "records.md"
    section = page.read_text().split("# Querying the records", 1)[1]
    shown = section.split("```sql\n", 1)[1].split("```", 1)[0]
    deployed = "".join(line for line in named_query().splitlines(keepends=True) if not line.startswith("--"))
    assert shown == deployed
