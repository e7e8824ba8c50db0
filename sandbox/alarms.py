"""The template's CloudWatch alarms, put into local AWS by API from their own definitions.

moto's CloudFormation has no ``AWS::CloudWatch::Alarm``, so the template marks the alarms
``InAws`` and this module plays CloudFormation for them: it reads each alarm's properties
from ``infra/template.yaml``, resolves the intrinsic functions they use (``Ref``,
``Fn::Sub``, ``Fn::GetAtt``) against the stack moto created, judges their conditions as in
AWS (``Sandbox`` false) and calls ``PutMetricAlarm`` with the properties as they are (and
sets the ops topic's policy, which they publish under, from its definition too): the
resource's property names are the API's parameter names, and botocore checks them against
the service model, so a property AWS would refuse fails here too. A function or attribute
it does not know is an error, never a silently different alarm.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from infra.template import load_template

if TYPE_CHECKING:
    import boto3.session
    from mypy_boto3_cloudformation import CloudFormationClient

ALARM = "AWS::CloudWatch::Alarm"
# What GetAtt may read, from a resource's physical id as moto reports it.
_ATTRIBUTES: dict[tuple[str, str], Callable[[str], str]] = {
    ("AWS::SQS::Queue", "QueueName"): lambda url: url.rsplit("/", 1)[-1],
    ("AWS::SNS::Topic", "TopicName"): lambda arn: arn.rsplit(":", 1)[-1],
    ("AWS::SNS::Topic", "TopicArn"): lambda arn: arn,
}


class StackContext:
    """What the intrinsic functions of one deployed stack resolve to."""

    def __init__(
        self, template: Mapping[str, Any], parameters: Mapping[str, str], physical: Mapping[str, str]
    ) -> None:
        self.template = template
        self.values: dict[str, str] = {
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            **{name: spec.get("Default", "") for name, spec in template["Parameters"].items()},
            **parameters,
            **physical,
        }
        self.physical = physical

    @classmethod
    def of_stack(cls, cloudformation: CloudFormationClient, name: str) -> StackContext:
        """The stack's parameters and resources as moto reports them, judged as in AWS."""
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        parameters["Sandbox"] = "false"  # the sandbox stands in for AWS for what it creates here
        resources = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
        physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in resources
            if r.get("LogicalResourceId") and r.get("PhysicalResourceId")  # moto lists skipped ones blank
        }
        region = cloudformation.meta.region_name
        context = cls(load_template(), parameters, physical)
        context.values["AWS::Region"] = region
        context.values["AWS::AccountId"] = stack["StackId"].split(":")[4]
        return context

    def holds(self, condition: str | None) -> bool:
        if condition is None:
            return True
        return bool(self.resolve(self.template["Conditions"][condition]))

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function in it replaced by what it stands for."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, argument)] = value.items()
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                return self._function(key, argument)
        return {key: self.resolve(item) for key, item in value.items()}

    def _function(self, key: str, argument: Any) -> Any:
        if key == "Ref":
            return self.values[argument]
        if key == "Condition":
            return self.holds(argument)
        if key == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self._named(m.group(1)), argument)
        if key == "Fn::GetAtt":
            return self._attribute(*argument)
        if key == "Fn::Equals":
            left, right = self.resolve(argument)
            return left == right
        if key == "Fn::Not":
            return not self.resolve(argument[0])
        if key == "Fn::And":
            return all(self.resolve(argument))
        if key == "Fn::Or":
            return any(self.resolve(argument))
        raise NotImplementedError(f"the sandbox does not resolve {key} (used in an alarm)")

    def _named(self, name: str) -> str:
        if "." in name:
            return str(self._attribute(*name.split(".", 1)))
        return str(self.values[name])

    def _attribute(self, logical_id: str, attribute: str) -> str:
        kind = self.template["Resources"][logical_id]["Type"]
        read = _ATTRIBUTES.get((kind, attribute))
        if read is None:
            raise NotImplementedError(f"the sandbox does not resolve {kind}.{attribute} (used in an alarm)")
        return read(self.physical[logical_id])


def alarm_definitions(context: StackContext) -> dict[str, dict[str, Any]]:
    """Each alarm the stack would have in AWS: logical id → PutMetricAlarm's parameters."""
    return {
        logical_id: context.resolve(resource["Properties"])
        for logical_id, resource in context.template["Resources"].items()
        if resource["Type"] == ALARM and context.holds(resource.get("Condition"))
    }


OPS_TOPIC_POLICY = "OpsTopicPolicy"


def ops_topic_policy(context: StackContext) -> dict[str, Any]:
    """The ops topic's policy as the stack would set it in AWS (only CloudWatch publishes)."""
    return dict(
        context.resolve(context.template["Resources"][OPS_TOPIC_POLICY]["Properties"]["PolicyDocument"])
    )


def put_alarms(session: boto3.session.Session, stack: str) -> list[str]:
    """Put the template's alarms for ``stack``, and the policy of the topic they go to (moto's
    CloudFormation creates no topic policy); return the alarms' names."""
    context = StackContext.of_stack(session.client("cloudformation"), stack)
    cloudwatch = session.client("cloudwatch")
    names = []
    for properties in alarm_definitions(context).values():
        cloudwatch.put_metric_alarm(**properties)
        names.append(str(properties["AlarmName"]))
    session.client("sns").set_topic_attributes(
        TopicArn=context.values["OpsTopic"],
        AttributeName="Policy",
        AttributeValue=json.dumps(ops_topic_policy(context)),
    )
    return names
