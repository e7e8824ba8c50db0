"""What a SCIM client reads first (RFC 7643 §5–7): the service's features, the User schema
(only the attributes facegate keeps) and the one resource type."""

from __future__ import annotations

from typing import Any

from chalicelib.scim.resources import LIST_SCHEMA, USER_SCHEMA

SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def _attribute(name: str, kind: str = "string", **extra: Any) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": False,
        "required": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
        "description": name,
    }
    if kind == "string":
        attribute["caseExact"] = False
    attribute.update(extra)
    return attribute


USER_ATTRIBUTES = [
    _attribute(
        "userName",
        required=True,
        uniqueness="server",
        mutability="immutable",
        caseExact=True,  # employee ids are case-sensitive: the IdP sends the id exactly
        description="The employee id, case included (facegate's employee-id rules)",
    ),
    _attribute("displayName", description="The employee's name"),
    _attribute(
        "name",
        "complex",
        description="The employee's name",
        subAttributes=[_attribute("formatted")],
    ),
    _attribute(
        "emails",
        "complex",
        multiValued=True,
        description="The primary one is the employee's email",
        subAttributes=[_attribute("value"), _attribute("primary", "boolean")],
    ),
    _attribute("active", "boolean", required=True, description="false: suspended, refused at every door"),
]


def user_schema(base: str) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "An employee of facegate",
        "attributes": USER_ATTRIBUTES,
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{USER_SCHEMA}"},
    }


def user_resource_type(base: str) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "An employee of facegate",
        "schema": USER_SCHEMA,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
    }


def listing(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def service_provider_config(base: str, max_results: int) -> dict[str, Any]:
    return {
        "schemas": [CONFIG_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "The token an admin issues with `facegate scim token`",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    }
