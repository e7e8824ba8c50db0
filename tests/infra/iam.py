"""A small IAM evaluator for the tests: which request a policy allows, Conditions included.

``requests_of`` turns one botocore call (service, operation, params as our code passed them)
into the IAM requests AWS would authorise: action, resource ARN and the condition keys the
call carries (``dynamodb:LeadingKeys``, ``dynamodb:Attributes``, ``aws:ResourceAccount``,
``s3:prefix`` …). ``allowed`` evaluates them against a policy's Allow statements the way IAM
does: every operator of a statement's Condition must hold. An operator it does not know is an
error, never a silent "allowed".
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ACCOUNT, REGION = "123456789012", "us-east-1"
Context = dict[str, tuple[str, ...]]  # condition key -> the values a request carries


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        keys = ", ".join(f"{key}={list(values)}" for key, values in sorted(self.context.items()))
        return f"{self.action} {self.resource} {{{keys}}}"


def statements(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["Statement"])


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


# --- evaluation ---------------------------------------------------------------------------


def allowed(policy: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """Does any Allow statement cover the action, the resource and its Condition?"""
    return any(
        statement["Effect"] == "Allow"
        and request.action in as_list(statement["Action"])
        and any(fnmatch.fnmatchcase(request.resource, pattern) for pattern in as_list(statement["Resource"]))
        and conditions_hold(statement.get("Condition", {}), request.context)
        for statement in policy
    )


def _same_bool(value: str, pattern: str) -> bool:
    return value.lower() == pattern.lower()


_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda value, pattern: value == pattern,
    "StringLike": fnmatch.fnmatchcase,
    "ArnLike": fnmatch.fnmatchcase,
    "ArnEquals": fnmatch.fnmatchcase,  # IAM's ArnEquals takes wildcards too
    "Bool": _same_bool,
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotLike": "ArnLike",
    "ArnNotEquals": "ArnEquals",
}


def conditions_hold(
    condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, tuple[str, ...]]
) -> bool:
    """IAM's rules: every operator and every key must hold (a missing key: see ``_holds``)."""
    return all(
        _holds(operator, as_list(policy_values), context.get(key))
        for operator, keys in condition.items()
        for key, policy_values in keys.items()
    )


def _holds(operator: str, policy_values: list[str], values: tuple[str, ...] | None) -> bool:
    """One key: a value matches if it matches any policy value (none of them, when negated)."""
    quantifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name == "Null" and not quantifier:  # "true": the key must be absent; "false": present
        return all((values is None) == (str(wanted).lower() == "true") for wanted in policy_values)
    negated = name in _NEGATED
    matcher = _MATCHERS.get(_NEGATED.get(name, name))
    if matcher is None or quantifier not in ("", "ForAllValues", "ForAnyValue"):
        raise ValueError(f"the test's evaluator does not know the operator {operator}")

    def matches(value: str) -> bool:
        return any(matcher(value, str(wanted)) for wanted in policy_values) != negated

    if quantifier == "ForAllValues":
        return values is None or all(matches(value) for value in values)
    if quantifier == "ForAnyValue":
        return values is not None and any(matches(value) for value in values)
    if values is None:
        return if_exists or negated  # IAM: a missing key satisfies only these
    return any(matches(value) for value in values)


# --- resource policies (a topic's): who is the caller ------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who makes a request to a resource with a policy: an IAM principal of an account (with
    whether its own identity policy allows the request) or an AWS service principal."""

    account: str
    arn: str = ""  # an IAM principal's ARN
    service: str = ""  # a service principal (cloudwatch.amazonaws.com); then arn is ""
    identity_allows: bool = False

    def context(self) -> Context:
        """The global condition keys IAM sets for this caller."""
        if self.service:
            return {"aws:PrincipalServiceName": (self.service,), "aws:PrincipalIsAWSService": ("true",)}
        return {
            "aws:PrincipalArn": (self.arn,),
            "aws:PrincipalAccount": (self.account,),
            "aws:PrincipalIsAWSService": ("false",),
        }


def _names(statement: Mapping[str, Any], caller: Caller) -> bool:
    """Does the statement's Principal name the caller? An account's root names every IAM
    principal of that account (the account delegates to their identity policies)."""
    principal = statement["Principal"]
    if principal == "*":
        return True
    if caller.service:
        return caller.service in as_list(principal.get("Service", []))
    root = f"arn:aws:iam::{caller.account}:root"
    return any(name in (caller.arn, root) for name in as_list(principal.get("AWS", [])))


def resource_policy_allows(policy: Iterable[Mapping[str, Any]], request: Request, caller: Caller) -> bool:
    """Same-account evaluation as AWS does it: an explicit Deny that names the caller wins;
    else the resource policy's Allow for the caller, or (an IAM principal of the resource's
    account) its own identity policy, allows. A service principal has no identity policy."""
    statements = list(policy)
    context = {**request.context, **caller.context()}

    def applies(statement: Mapping[str, Any]) -> bool:
        return (
            request.action in as_list(statement["Action"])
            and any(fnmatch.fnmatchcase(request.resource, p) for p in as_list(statement["Resource"]))
            and _names(statement, caller)
            and conditions_hold(statement.get("Condition", {}), context)
        )

    if any(s["Effect"] == "Deny" and applies(s) for s in statements):
        return False
    same_account = not caller.service and caller.account == ACCOUNT
    if same_account and caller.identity_allows:
        return True
    return any(
        s["Effect"] == "Allow" and applies(s) and not _is_account_root_only(s, caller) for s in statements
    )


def _is_account_root_only(statement: Mapping[str, Any], caller: Caller) -> bool:
    """An Allow to the account root grants nothing by itself: the principal's identity policy must."""
    principal = statement["Principal"]
    return principal != "*" and not caller.service and caller.arn not in as_list(principal.get("AWS", []))


# --- what a call asks for -------------------------------------------------------------------


def requests_of(service: str, operation: str, params: Mapping[str, Any]) -> list[Request]:
    """The IAM requests one botocore call makes (resources named as in the sandbox)."""
    account: Context = {"aws:ResourceAccount": (ACCOUNT,)}
    of_service = _REQUESTS_OF.get(service)
    if of_service is None:
        return [Request(f"{service}:{operation}", "?", account)]
    return of_service(operation, params, account)


def _dynamodb_requests(operation: str, params: Mapping[str, Any], account: Context) -> list[Request]:
    if operation == "TransactWriteItems":
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
        kinds["ConditionCheck"] = "ConditionCheckItem"
        return [
            _dynamodb(kinds[kind], body, account)
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    if operation == "BatchGetItem":  # authorised as a GetItem-like read of each key, per table
        return [
            _dynamodb(operation, {"TableName": table, "Key": key, **_projection(request)}, account)
            for table, request in params["RequestItems"].items()
            for key in request["Keys"]
        ]
    return [_dynamodb(operation, params, account)]


def _s3_requests(operation: str, params: Mapping[str, Any], account: Context) -> list[Request]:
    bucket_account = {**account, "s3:ResourceAccount": (ACCOUNT,)}
    if operation in ("ListObjectVersions", "ListObjectsV2"):
        prefix = {"s3:prefix": (params["Prefix"],)} if "Prefix" in params else {}
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        listing = "s3:ListBucketVersions" if operation == "ListObjectVersions" else "s3:ListBucket"
        return [Request(listing, bucket, bucket_account | prefix)]
    operation = "GetObject" if operation == "HeadObject" else operation  # HEAD is authorised as GET
    versioned = params.get("VersionId") and operation in ("GetObject", "DeleteObject")
    action = f"s3:{operation}" + ("Version" if versioned else "")
    return [Request(action, f"arn:aws:s3:::{params['Bucket']}/{params['Key']}", bucket_account)]


def _sns_requests(operation: str, params: Mapping[str, Any], account: Context) -> list[Request]:
    return [Request(f"sns:{operation}", params["TopicArn"], account)]


def _rekognition_requests(operation: str, params: Mapping[str, Any], account: Context) -> list[Request]:
    collection = f"arn:aws:rekognition:{REGION}:{ACCOUNT}:collection/{params['CollectionId']}"
    return [Request(f"rekognition:{operation}", collection, account)]


def _cognito_requests(operation: str, params: Mapping[str, Any], account: Context) -> list[Request]:
    if operation == "GetUser":  # authorised by the access token it carries, not by IAM
        return []
    pool = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{params['UserPoolId']}"
    # the sandbox's pool carries the tag the template gives a stage's pool
    return [
        Request(f"cognito-idp:{operation}", pool, {**account, "aws:ResourceTag/facegate-stage": ("sandbox",)})
    ]


def _sqs_requests(operation: str, params: Mapping[str, Any], account: Context) -> list[Request]:
    name = params["QueueName"] if operation == "GetQueueUrl" else params["QueueUrl"].rsplit("/", 1)[-1]
    return [Request(f"sqs:{operation}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}", account)]


def _kms_requests(operation: str, params: Mapping[str, Any], account: Context) -> list[Request]:
    # The camera names its key by alias; IAM authorises the key itself and offers the
    # alias as kms:ResourceAliases (the key's id exists only once the stack does).
    key_id = str(params["KeyId"])
    if key_id.startswith("alias/"):
        key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/aliased"
        return [Request(f"kms:{operation}", key, {**account, "kms:ResourceAliases": (key_id,)})]
    return [Request(f"kms:{operation}", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}", account)]


def _ses_requests(operation: str, params: Mapping[str, Any], account: Context) -> list[Request]:
    identity = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{params['Source']}"
    return [Request(f"ses:{operation}", identity, account)]


def _ssm_requests(operation: str, params: Mapping[str, Any], account: Context) -> list[Request]:
    name = str(params["Name"])  # a path-like name: the ARN is parameter + the name
    return [Request(f"ssm:{operation}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}", account)]


_REQUESTS_OF: dict[str, Callable[[str, Mapping[str, Any], Context], list[Request]]] = {
    "dynamodb": _dynamodb_requests,
    "s3": _s3_requests,
    "sns": _sns_requests,
    "rekognition": _rekognition_requests,
    "cognito-idp": _cognito_requests,
    "sqs": _sqs_requests,
    "kms": _kms_requests,
    "ses": _ses_requests,
    "ssm": _ssm_requests,
}


_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_READS_ITEMS = {"GetItem", "Query", "Scan", "BatchGetItem"}


def _dynamodb(operation: str, body: Mapping[str, Any], account: Context) -> Request:
    """DynamoDB's condition keys for one item operation (on a table, or one of its indexes)."""
    table = body["TableName"]
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    if body.get("IndexName"):
        arn += f"/index/{body['IndexName']}"
    context = dict(account)
    leading = _leading_keys(table, body)
    if leading:
        context["dynamodb:LeadingKeys"] = leading
    if operation in _WRITES or operation == "ConditionCheckItem":
        names = set(body.get("Item", {})) | set(body.get("Key", {}))
        for expression in ("UpdateExpression", "ConditionExpression"):
            names |= _attribute_names(body, expression)
        context["dynamodb:Attributes"] = tuple(sorted(names))
    elif operation in _READS_ITEMS:
        projected = "ProjectionExpression" in body or body.get("Select") == "SPECIFIC_ATTRIBUTES"
        context["dynamodb:Select"] = (
            str(body.get("Select", "SPECIFIC_ATTRIBUTES" if projected else "ALL_ATTRIBUTES")),
        )
        if "ProjectionExpression" in body:  # the attributes a projected read returns
            context["dynamodb:Attributes"] = tuple(sorted(_attribute_names(body, "ProjectionExpression")))
    if "ReturnValues" in body:
        context["dynamodb:ReturnValues"] = (str(body["ReturnValues"]),)
    return Request(f"dynamodb:{operation}", arn, context)


def _projection(request: Mapping[str, Any]) -> dict[str, Any]:
    """A BatchGetItem table request's projection, as a GetItem body carries it."""
    return {
        name: request[name]
        for name in ("ProjectionExpression", "ExpressionAttributeNames")
        if name in request
    }


def _leading_keys(table: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    """The partition key value(s) the call touches (from Key, Item or a key condition)."""
    key = partition_keys().get(table.rsplit("-", 1)[-1])
    if key is None:
        return ()
    for source in ("Key", "Item"):
        if key in body.get(source, {}):
            return (_scalar(body[source][key]),)
    if "KeyConditionExpression" in body:
        expression, _, values = _expression(body, "KeyConditionExpression")
        for placeholder in re.findall(rf"\b{re.escape(key)}\s*=\s*(:\w+)", expression):
            return (_scalar(values[placeholder]),)
    return ()


def _attribute_names(body: Mapping[str, Any], field_name: str) -> set[str]:
    """The top-level attribute names an expression touches (``#name`` placeholders resolved)."""
    if field_name not in body:
        return set()
    expression, names, _ = _expression(body, field_name)
    expression = re.sub(r":\w+", " ", expression)  # values are not names
    found = set()
    for token in re.findall(r"(?<![.\w#])#?[A-Za-z_]\w*", expression):
        if token.startswith("#"):
            found.add(names[token])
        elif token.upper() not in _KEYWORDS and token.lower() not in _FUNCTIONS:
            found.add(token)
    return found


_KEYWORDS = {"SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "IN", "BETWEEN"}
_FUNCTIONS = {
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
    "if_not_exists",
    "list_append",
}


def _expression(body: Mapping[str, Any], field_name: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """An expression as text with its names and values, built as boto3 would from a condition."""
    expression = body[field_name]
    names = dict(body.get("ExpressionAttributeNames", {}))
    values = dict(body.get("ExpressionAttributeValues", {}))
    if not isinstance(expression, str):
        from boto3.dynamodb.conditions import ConditionExpressionBuilder

        built = ConditionExpressionBuilder().build_expression(
            expression, is_key_condition=field_name == "KeyConditionExpression"
        )
        expression = built.condition_expression
        names.update(built.attribute_name_placeholders)
        values.update(built.attribute_value_placeholders)
    names_resolved = {placeholder: str(name) for placeholder, name in names.items()}
    if field_name == "KeyConditionExpression":  # resolve #n so the key's own name matches
        for placeholder, name in names_resolved.items():
            expression = expression.replace(placeholder, name)
    return expression, names_resolved, values


def _scalar(value: Any) -> str:
    """A key value as IAM compares it: the string, whether typed ({"S": …}) or plain."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("S", "N", "B"):
        return str(next(iter(value.values())))
    return str(value)


@cache
def partition_keys() -> dict[str, str]:
    """Each table's partition key (by its name's last word: scans, audit …), from the template."""
    from tests.infra.test_template import template

    keys = {}
    for resource in template()["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            properties = resource["Properties"]
            [hash_key] = [k["AttributeName"] for k in properties["KeySchema"] if k["KeyType"] == "HASH"]
            keys[str(properties["TableName"]).rsplit("-", 1)[-1]] = hash_key
    return keys


def denied(policy: list[dict[str, Any]], requests: Iterable[Request]) -> list[str]:
    """The requests ``policy`` does not allow, described, without repeats."""
    return sorted({str(request) for request in requests if not allowed(policy, request)})
