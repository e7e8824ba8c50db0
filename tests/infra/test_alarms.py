"""The template's alarms and dashboard, resolved for a stage as CloudFormation would in AWS.

The alarms are judged on what they would be in an account: every function of
``.chalice/config.json`` watched, every action to the ops topic, thresholds that behave as
docs/operations/alarms.md says (the metric math is evaluated on sample values), and every facegate metric
they name one that ``chalicelib/core/observability.py`` really emits, with its dimensions.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.core.models import Status
from chalicelib.core.observability import (
    METRICS,
    NAMESPACE,
    emit_authorized_unannounced,
    emit_door_event,
    emit_record_copy_failed,
    emit_report_overdue,
    emit_scan_metrics,
)
from infra.stage import function_timeout, lambda_function_name, stage_variables
from infra.template import load_template
from sandbox.alarms import StackContext, alarm_definitions
from sandbox.stack import PROJECT_DIR

CONFIG = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
STAGES = ("dev", "prod")


def in_aws(stage: str) -> StackContext:
    """The template's values for a deployed ``stage``, with the names its resources get."""
    template = load_template()
    parameters = {
        "Stage": stage,
        "Sandbox": "false",
        "Engine": stage_variables(stage)["FACEGATE_ENGINE"],
        "CameraTimeoutSeconds": str(function_timeout(stage, "on_camera_upload")),
    }
    naming = StackContext(template, parameters, {})
    physical = {}
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::SNS::Topic":
            physical[logical_id] = (
                f"arn:aws:sns:us-east-1:123456789012:{naming.resolve(properties['TopicName'])}"
            )
        if resource["Type"] == "AWS::SQS::Queue":
            name = naming.resolve(properties["QueueName"])
            physical[logical_id] = f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}"
    return StackContext(template, parameters, physical)


def alarms(stage: str) -> list[dict[str, Any]]:
    return list(alarm_definitions(in_aws(stage)).values())


def alarm(stage: str, suffix: str) -> dict[str, Any]:
    [found] = [a for a in alarms(stage) if a["AlarmName"] == f"facegate-{stage}-{suffix}"]
    return found


def watched(definition: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of every metric an alarm reads."""
    if "MetricName" in definition:
        dimensions = {d["Name"]: d["Value"] for d in definition.get("Dimensions", [])}
        yield definition["Namespace"], definition["MetricName"], dimensions
    for query in definition.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            yield metric["Namespace"], metric["MetricName"], dimensions


def emitted_metrics() -> set[tuple[str, frozenset[str]]]:
    """(metric, dimension names) for every metric and dimension set facegate's EMF records declare."""
    records: list[dict[str, Any]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(json.loads(record.getMessage()))

    capture = Capture()
    saved = METRICS.level
    METRICS.addHandler(capture)
    METRICS.setLevel(logging.INFO)
    try:
        emit_scan_metrics("prod", "AUTHORIZED", "front-door", 12.5)
        emit_report_overdue("prod", True)
        emit_door_event("prod", "HELD_OPEN", alarming=True)
        emit_authorized_unannounced("prod")
        emit_record_copy_failed("prod")
    finally:
        METRICS.removeHandler(capture)
        METRICS.setLevel(saved)
    declared = set()
    for record in records:
        for directive in record["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE
            for metric in directive["Metrics"]:
                for dimensions in directive["Dimensions"]:
                    assert all(name in record for name in [metric["Name"], *dimensions])
                    declared.add((metric["Name"], frozenset(dimensions)))
    return declared


def evaluate(expression: str, **series: float | None) -> float:
    """A metric-math expression on one sample of each series (IF and FILL as CloudWatch has them)."""
    names: dict[str, Callable[..., float] | float | None] = {
        "IF": lambda condition, then, otherwise: then if condition else otherwise,
        "FILL": lambda value, default: default if value is None else value,
        **series,
    }
    result: float = eval(expression, {"__builtins__": {}}, names)  # our own template's expression
    return result


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_in_the_chalice_config_has_errors_and_throttles_alarms(stage: str) -> None:
    by_function: dict[str, set[str]] = {}
    for definition in alarms(stage):
        for namespace, metric, dimensions in watched(definition):
            if namespace == "AWS/Lambda" and metric in ("Errors", "Throttles"):
                by_function.setdefault(dimensions["FunctionName"], set()).add(metric)
    functions = CONFIG["stages"][stage]["lambda_functions"]
    assert {lambda_function_name(stage, function): {"Errors", "Throttles"} for function in functions} == (
        by_function
    )


def test_the_function_names_are_the_ones_chalice_deploys() -> None:
    # in a process of its own: Chalice imports app.py and sets the stage's variables in os.environ
    script = (
        "import json\n"
        "from chalice.cli.factory import CLIFactory\n"
        "from chalice.deploy.appgraph import ApplicationGraphBuilder\n"
        "from chalice.deploy.models import LambdaFunction\n"
        "config = CLIFactory(project_dir='.').create_config_obj(chalice_stage_name='dev')\n"
        "names, todo = {}, [ApplicationGraphBuilder().build(config, 'dev')]\n"
        "while todo:\n"
        "    resource = todo.pop()\n"
        "    if isinstance(resource, LambdaFunction):\n"
        "        names[resource.resource_name] = resource.function_name\n"
        "    todo += resource.dependencies()\n"
        "print(json.dumps(names))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    deployed = json.loads(result.stdout)
    assert deployed == {function: lambda_function_name("dev", function) for function in deployed}
    assert set(deployed) == set(CONFIG["stages"]["dev"]["lambda_functions"])


@pytest.mark.parametrize("stage", STAGES)
def test_every_alarm_tells_the_ops_topic_and_nothing_else(stage: str) -> None:
    ops_topic = f"arn:aws:sns:us-east-1:123456789012:facegate-{stage}-ops"
    definitions = alarms(stage)
    assert len({a["AlarmName"] for a in definitions}) == len(definitions)
    for definition in definitions:
        assert definition["AlarmName"].startswith(f"facegate-{stage}-")
        assert definition["AlarmActions"] == [ops_topic], definition["AlarmName"]
        assert definition["OKActions"] == [ops_topic], definition["AlarmName"]
        assert definition.get("ActionsEnabled", True) is True
        assert len(definition["AlarmDescription"]) > 30  # the reason, read in the alarm's email
        assert definition["TreatMissingData"] in ("notBreaching", "breaching", "ignore")


def test_the_ops_topic_is_not_the_doors_and_mails_only_a_given_address() -> None:
    template = load_template()
    resources = template["Resources"]
    assert resources["OpsTopic"]["Properties"]["TopicName"] == {"Fn::Sub": "facegate-${Stage}-ops"}
    # CloudWatch cannot publish to a topic under the AWS-managed SNS key
    assert "KmsMasterKeyId" not in resources["OpsTopic"]["Properties"]
    subscription = resources["OpsEmailSubscription"]
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "OpsTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "OpsEmail"},
    }
    for email, subscribed in (("", False), ("ops@example.com", True)):
        context = in_aws("prod")
        context.values["OpsEmail"] = email
        assert context.holds(subscription["Condition"]) is subscribed


@pytest.mark.parametrize("stage", STAGES)
def test_every_facegate_metric_an_alarm_reads_is_one_the_code_emits(stage: str) -> None:
    emitted = emitted_metrics()
    read = [
        (metric, dimensions)
        for definition in alarms(stage)
        for namespace, metric, dimensions in watched(definition)
        if namespace == NAMESPACE
    ]
    assert {metric for metric, _ in read} == {
        "Scans",
        "ReportOverdue",
        "DoorAlarms",
        "AuthorizedUnannounced",
        "RecordCopyFailed",
    }
    for metric, dimensions in read:
        assert (metric, frozenset(dimensions)) in emitted
        assert dimensions["Stage"] == stage
        assert dimensions.get("Status", Status.ERROR.value) in set(Status)


def test_the_error_share_alarm_judges_a_quiet_night_and_a_busy_hour() -> None:
    definition = alarm("prod", "error-scans")
    [share] = [query for query in definition["Metrics"] if query.get("ReturnData", True)]
    queries = {query["Id"]: query for query in definition["Metrics"] if "MetricStat" in query}
    [(_, _, errors_of)] = list(watched({"Metrics": [queries["errors"]]}))
    assert errors_of == {"Stage": "prod", "Status": Status.ERROR.value}
    assert all(query["MetricStat"]["Stat"] == "Sum" for query in queries.values())
    threshold = float(definition["Threshold"])
    assert definition["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"

    def alarms_on(errors: float | None, scans: float) -> bool:
        return evaluate(share["Expression"], errors=errors, scans=scans) >= threshold

    assert not alarms_on(1, 1)  # one ERROR at 3 a.m.
    assert alarms_on(2, 3)  # two in five quiet minutes
    assert not alarms_on(None, 400)  # no ERROR scans at all: the series is missing
    assert not alarms_on(9, 50)
    assert alarms_on(10, 50)  # a fifth of a busy hour's scans


@pytest.mark.parametrize("stage", STAGES)
def test_the_camera_duration_alarm_follows_the_configured_timeout(stage: str) -> None:
    definition = alarm(stage, "on_camera_upload-near-timeout")
    [share] = [query for query in definition["Metrics"] if query.get("ReturnData", True)]
    [duration] = [query for query in definition["Metrics"] if "MetricStat" in query]
    assert duration["MetricStat"]["Stat"] == "Maximum"
    assert duration["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": lambda_function_name(stage, "on_camera_upload")}
    ]
    timeout_ms = CONFIG["stages"][stage]["lambda_timeout"] * 1000  # the camera function has no own
    assert "lambda_timeout" not in CONFIG["stages"][stage]["lambda_functions"]["on_camera_upload"]
    assert definition["Threshold"] == 80
    assert evaluate(share["Expression"], duration=0.8 * timeout_ms) >= 80
    assert evaluate(share["Expression"], duration=0.79 * timeout_ms) < 80


def test_the_dead_letter_alarms_fire_on_one_message_and_keep_their_state_without_data() -> None:
    for queue in ("failed-scans", "failed-erasures", "failed-gallery-health"):
        definition = alarm("prod", f"{queue}-queue")
        assert list(watched(definition)) == [
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": f"facegate-prod-{queue}"})
        ]
        assert (definition["Statistic"], definition["Threshold"], definition["TreatMissingData"]) == (
            "Maximum",
            1,
            "ignore",
        )


def test_failed_sns_deliveries_alarm_for_both_topics() -> None:
    topics = {
        dimensions["TopicName"]
        for definition in alarms("prod")
        for namespace, metric, dimensions in watched(definition)
        if (namespace, metric) == ("AWS/SNS", "NumberOfNotificationsFailed")
    }
    assert topics == {"facegate-prod-decisions", "facegate-prod-admin"}


def test_rekognition_throttling_is_watched_only_where_rekognition_is_the_engine() -> None:
    assert stage_variables("prod")["FACEGATE_ENGINE"] == "rekognition"
    assert stage_variables("dev")["FACEGATE_ENGINE"] == "local"
    throttled: list[tuple[str, str, dict[str, str]]] = [("AWS/Rekognition", "ThrottledCount", {})]
    assert [list(watched(a)) for a in alarms("prod") if "rekognition" in a["AlarmName"]] == [throttled]
    assert not [a for a in alarms("dev") if "Rekognition" in json.dumps(a)]


def test_the_report_alarm_counts_a_silent_schedule_as_overdue() -> None:
    definition = alarm("prod", "report-overdue")
    assert list(watched(definition)) == [(NAMESPACE, "ReportOverdue", {"Stage": "prod"})]
    assert definition["TreatMissingData"] == "breaching"
    assert (definition["Statistic"], definition["Period"], definition["Threshold"]) == ("Maximum", 3600, 1)
    assert definition["EvaluationPeriods"] == 1


@pytest.mark.parametrize("stage", STAGES)
def test_the_dashboard_is_json_naming_emitted_metrics_every_status_and_the_stages_resources(
    stage: str,
) -> None:
    context = in_aws(stage)
    dashboard = context.resolve(context.template["Resources"]["Dashboard"]["Properties"])
    assert dashboard["DashboardName"] == f"facegate-{stage}"
    widgets = json.loads(dashboard["DashboardBody"])["widgets"]
    emitted = emitted_metrics()
    rows = [row for widget in widgets for row in widget["properties"].get("metrics", [])]
    statuses = set()
    for row in rows:
        names = [item for item in row if isinstance(item, str)]
        if not names:  # a SEARCH expression: the door agents' heartbeats, in this stage's namespace
            [expression] = [item["expression"] for item in row if isinstance(item, dict)]
            assert expression.startswith(f'SEARCH(\'"facegate/{stage}/doors/" MetricName=')
            continue
        namespace, metric, pairs = names[0], names[1], dict(zip(names[2::2], names[3::2], strict=True))
        if namespace == NAMESPACE:
            assert (metric, frozenset(pairs)) in emitted
            assert pairs["Stage"] == stage
            statuses.add(pairs.get("Status"))
        elif namespace == "AWS/Lambda":
            assert pairs["FunctionName"] in {
                lambda_function_name(stage, f) for f in CONFIG["stages"][stage]["lambda_functions"]
            }
        elif namespace == "AWS/SQS":
            assert pairs["QueueName"] in {
                f"facegate-{stage}-failed-scans",
                f"facegate-{stage}-failed-erasures",
                f"facegate-{stage}-failed-gallery-health",
            }
    assert statuses - {None} == set(Status)  # a new status shows on the dashboard or fails here
    percentiles = {row[-1]["stat"] for row in rows if "ScanDuration" in row}
    assert percentiles == {"p50", "p95"}
    [per_camera] = [widget for widget in widgets if widget["type"] == "log"]
    query = per_camera["properties"]["query"]
    assert query.startswith(f"SOURCE '/aws/lambda/{lambda_function_name(stage, 'on_camera_upload')}' |")
    assert "by Camera" in query


def test_every_alarm_has_its_row_in_the_readme() -> None:
    section = (PROJECT_DIR / "docs" / "operations" / "alarms.md").read_text()
    rows = {
        cell
        for line in section.splitlines()
        if line.startswith("| `")
        for cell in re.findall(r"`([^`]+)`", line.split(" | ")[0])
    }
    functions = CONFIG["stages"]["prod"]["lambda_functions"]
    for definition in alarms("prod"):
        suffix = definition["AlarmName"].removeprefix("facegate-prod-")
        generic = re.sub(rf"^({'|'.join(functions)})-(errors|throttles)$", r"<function>-\2", suffix)
        assert suffix in rows or generic in rows, suffix


def test_the_sandbox_refuses_what_it_cannot_resolve_rather_than_put_another_alarm() -> None:
    context = in_aws("dev")
    with pytest.raises(NotImplementedError, match="Fn::Join"):
        context.resolve({"Fn::Join": ["-", ["facegate", {"Ref": "Stage"}]]})
    with pytest.raises(NotImplementedError, match="StreamArn"):
        context.resolve({"Fn::Sub": "${ScansTable.StreamArn}"})
    assert context.resolve({"Fn::Sub": "facegate-${Stage}-${FailedScansQueue.QueueName}"}) == (
        "facegate-dev-facegate-dev-failed-scans"
    )
