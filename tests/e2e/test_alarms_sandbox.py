"""The alarms and the dashboard as the sandbox builds them from the template, read back from
local AWS (describe_alarms, get_dashboard), and the report function's gauge from its real handler."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from chalice.test import Client

from app import app, daily_report
from chalicelib import wiring
from chalicelib.core.observability import METRICS
from infra.stage import deploy_stack, lambda_function_name, stack_name
from sandbox.alarms import StackContext, ops_topic_policy, put_alarms
from sandbox.report import scheduled_event
from sandbox.resources import deploy_template
from sandbox.stack import PROJECT_DIR, LocalAws, Stack, patched_environ, stage_environment
from tests.infra.test_template import FUNCTIONS

WITHOUT_REKOGNITION = {
    "error-scans",
    "failed-scans-queue",
    "failed-erasures-queue",
    "failed-gallery-health-queue",
    *(f"{function}-{kind}" for function in FUNCTIONS for kind in ("errors", "throttles")),
    "decisions-undelivered",
    "admin-undelivered",
    "on_camera_upload-near-timeout",
    "report-overdue",
    "door-alarm-events",
    "authorized-unannounced",
    "record-copy-failed",
}


def alarms_of(session: boto3.session.Session) -> dict[str, dict[str, Any]]:
    pages = session.client("cloudwatch").get_paginator("describe_alarms").paginate()
    return {alarm["AlarmName"]: alarm for page in pages for alarm in page["MetricAlarms"]}


def stack_of(session: boto3.session.Session, stage: str) -> Any:
    return session.client("cloudformation").describe_stacks(StackName=stack_name(stage))["Stacks"][0]


def test_the_sandbox_has_the_templates_alarms_on_its_ops_topic(stack: Stack) -> None:
    described = stack_of(stack.session, "sandbox")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert (parameters["Engine"], parameters["CameraTimeoutSeconds"], parameters["OpsEmail"]) == (
        "local",
        "60",
        "",
    )
    ops_topic = outputs["OpsTopicArn"]
    stack.session.client("sns").get_topic_attributes(TopicArn=ops_topic)  # a real topic

    alarms = alarms_of(stack.session)
    assert set(alarms) == {f"facegate-sandbox-{suffix}" for suffix in WITHOUT_REKOGNITION}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [ops_topic] and alarm["OKActions"] == [ops_topic]
        assert alarm["ActionsEnabled"] is True

    functions = {
        dimension["Value"]
        for alarm in alarms.values()
        for dimension in alarm.get("Dimensions", [])
        if dimension["Name"] == "FunctionName"
    }
    assert functions == {lambda_function_name("sandbox", function) for function in FUNCTIONS}
    for queue in ("failed-scans", "failed-erasures", "failed-gallery-health"):
        [dimension] = alarms[f"facegate-sandbox-{queue}-queue"]["Dimensions"]
        stack.sqs.get_queue_url(QueueName=dimension["Value"])  # the stack's own dead-letter queue

    report = alarms["facegate-sandbox-report-overdue"]
    assert (report["Namespace"], report["MetricName"], report["TreatMissingData"]) == (
        "facegate",
        "ReportOverdue",
        "breaching",
    )
    assert report["Dimensions"] == [{"Name": "Stage", "Value": "sandbox"}]
    near_timeout = alarms["facegate-sandbox-on_camera_upload-near-timeout"]
    expressions = [query["Expression"] for query in near_timeout["Metrics"] if "Expression" in query]
    assert expressions == ["100 * duration / (60 * 1000)"]
    error_share = alarms["facegate-sandbox-error-scans"]
    assert {query["Id"] for query in error_share["Metrics"]} == {"errors", "scans", "error_share"}


def test_the_sandbox_sets_the_templates_policy_on_its_ops_topic(stack: Stack) -> None:
    """Only CloudWatch publishes there (tests/infra/test_ops_topic.py evaluates the document)."""
    context = StackContext.of_stack(stack.session.client("cloudformation"), stack_name("sandbox"))
    topic = context.values["OpsTopic"]
    attributes = stack.session.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    stored = json.loads(attributes["Policy"])
    assert stored == ops_topic_policy(context)
    assert [s["Sid"] for s in stored["Statement"]] == [
        "AccountManagesTheTopic",
        "CloudWatchAlarmsPublish",
        "NoRoleOrUserPublishes",
    ]


def test_the_dashboard_reads_back_and_names_the_stacks_queues_and_functions(stack: Stack) -> None:
    dashboard = stack.session.client("cloudwatch").get_dashboard(DashboardName="facegate-sandbox")
    widgets = json.loads(dashboard["DashboardBody"])["widgets"]
    assert {widget["properties"]["title"] for widget in widgets} == {
        "Scans by status (per 5 minutes)",
        "Scan latency, upload handled to decision recorded (ms)",
        "Errors: ERROR scans and failed invocations",
        "Dead letters waiting",
        "Activity per camera",
        "Door agents and their cameras: heartbeats per 5 minutes (a gap is a silent box or camera; "
        "each has an alarm from make door-add)",
    }
    rows = [row for widget in widgets for row in widget["properties"].get("metrics", [])]
    for row in rows:
        if row[0] == "AWS/SQS":
            stack.sqs.get_queue_url(QueueName=row[3])
        if row[0] == "facegate":
            assert row[2:4] == ["Stage", "sandbox"]
    assert {row[3] for row in rows if row[0] == "AWS/Lambda"} == {
        lambda_function_name("sandbox", function) for function in FUNCTIONS
    }


def test_with_rekognition_as_the_engine_its_throttling_is_watched(local_aws: LocalAws) -> None:
    local_aws.reset()
    with patched_environ(stage_environment("sandbox", {"FACEGATE_ENGINE": "rekognition"})):
        wiring.reset()
        session = boto3.session.Session()
        deploy_template(session, "sandbox")
        put_alarms(session, stack_name("sandbox"))
        wiring.reset()
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack_of(session, "sandbox")["Parameters"]}
    assert parameters["Engine"] == "rekognition"
    alarms = alarms_of(session)
    assert set(alarms) == {f"facegate-sandbox-{suffix}" for suffix in WITHOUT_REKOGNITION} | {
        "facegate-sandbox-rekognition-throttled"
    }
    throttled = alarms["facegate-sandbox-rekognition-throttled"]
    assert (throttled["Namespace"], throttled["MetricName"], throttled.get("Dimensions")) == (
        "AWS/Rekognition",
        "ThrottledCount",
        [],
    )


@contextmanager
def gauges() -> Iterator[list[int]]:
    """The ReportOverdue values the handler emits while inside."""
    values: list[int] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            emitted = json.loads(record.getMessage())
            if "ReportOverdue" in emitted:
                assert emitted["Stage"] == "sandbox"
                values.append(emitted["ReportOverdue"])

    capture, level = Capture(), METRICS.level
    METRICS.addHandler(capture)
    METRICS.setLevel(logging.INFO)
    try:
        yield values
    finally:
        METRICS.removeHandler(capture)
        METRICS.setLevel(level)


def test_every_run_of_the_report_function_says_whether_a_report_is_overdue(stack: Stack) -> None:
    today = datetime.now(UTC).astimezone(ZoneInfo(stack.settings.timezone)).date()
    with gauges() as values, Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        client.lambda_.invoke("daily_report", scheduled_event(_day(today, -5)))
        assert values == [1]  # whichever of yesterday and today is judged, neither went out
        for day in (_day(today, -1), _day(today, 0)):
            assert client.lambda_.invoke("daily_report", scheduled_event(day)).payload["sent"] is True
        assert values[-1] == 0
        client.lambda_.invoke("daily_report", scheduled_event())  # the hourly run, sending nothing new
    assert values[-1] == 0 and len(values) == 4


def _day(today: date, offset: int) -> str:
    return (today + timedelta(days=offset)).isoformat()


def test_a_run_that_fails_reports_overdue_before_it_raises(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACEGATE_REPORT_FROM")  # a stage that cannot send at all
    with gauges() as values, pytest.raises(ValueError, match="FACEGATE_REPORT_FROM"):
        daily_report(scheduled_event(), None)  # as Lambda calls it
    assert values == [1]


# moto's stack update ignores conditions and warns that it cannot make the (InAws) subscription
@pytest.mark.fresh_stack
@pytest.mark.filterwarnings("ignore:Tried to parse AWS..SNS..Subscription")  # no colons in a filter
def test_a_deploy_without_an_ops_address_keeps_the_one_the_stack_has(stack: Stack) -> None:
    cloudformation = stack.session.client("cloudformation")

    def ops_email() -> str:
        parameters = stack_of(stack.session, "sandbox")["Parameters"]
        return str({p["ParameterKey"]: p["ParameterValue"] for p in parameters}["OpsEmail"])

    deploy_stack(cloudformation, "sandbox", sandbox=True, ops_email="ops@example.com")
    assert ops_email() == "ops@example.com"
    deploy_stack(cloudformation, "sandbox", sandbox=True)  # FACEGATE_OPS_EMAIL not set
    assert ops_email() == "ops@example.com"
    deploy_stack(cloudformation, "sandbox", sandbox=True, ops_email="")  # an explicit "no one"
    assert ops_email() == ""
