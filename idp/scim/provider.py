"""What the SCIM service serves (RFC 7643 §5-§7): the User schema with its enterprise extension and the Group
schema, cut down to the attributes the provider keeps, their resource types and the service provider
configuration. Built once from scim2-server's copies of the RFC's schemas; scim2-models makes the resource
models from them (ScimProvider.from_discovery), so what is published and what is parsed are one description."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from scim2_models import ResourceType, Schema, ScimProvider, ServiceProviderConfig
from scim2_server.utils import load_json_resource

from idp.portals.registry import SCIM_SCOPE

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_RESULTS = 200
SCOPE = SCIM_SCOPE  # the OAuth scope a client_credentials client needs for /scim/v2

# Attribute -> the sub-attributes kept (None: a simple attribute); anything else the provider does not store.
# displayName, groups and members.display are the provider's to say: read-only here. A person has one e-mail
# address: emails holds that one value; a type or primary sent is accepted and ignored (read-only, RFC 7643 §2.2).
_KEPT: dict[str, dict[str, dict[str, list[str] | None]]] = {
    USER: {"userName": {}, "name": {"sub": ["formatted", "familyName", "givenName"]}, "displayName": {},
           "active": {}, "emails": {"sub": ["value", "type", "primary"]},
           "groups": {"sub": ["value", "$ref", "display"]}},
    GROUP: {"displayName": {}, "members": {"sub": ["value", "$ref", "type", "display"]}},
    ENTERPRISE: {"organization": {}},
}
# A person has an e-mail address (userName may be it, or a username of their own).
_REQUIRED = {(USER, "emails"), (USER, "emails.value")}
_READ_ONLY = {(USER, "displayName"), (USER, "emails.type"), (USER, "emails.primary"), (GROUP, "members.display"),
              (GROUP, "members.type")}


def _cut(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    kept = _KEPT[schema["id"]]
    attributes = []
    for attribute in schema["attributes"]:
        if attribute["name"] not in kept:
            continue
        subs = kept[attribute["name"]].get("sub")
        if subs is not None:
            attribute["subAttributes"] = [s for s in attribute["subAttributes"] if s["name"] in subs]
            for sub in attribute["subAttributes"]:
                if (schema["id"], f"{attribute['name']}.{sub['name']}") in _REQUIRED:
                    sub["required"] = True
                if (schema["id"], f"{attribute['name']}.{sub['name']}") in _READ_ONLY:
                    sub["mutability"] = "readOnly"
                if sub["name"] == "$ref" and schema["id"] == GROUP:
                    sub["referenceTypes"] = ["User"]  # a portal role holds people, not other roles
                if sub["name"] == "type" and schema["id"] == GROUP:
                    sub["canonicalValues"] = ["User"]
        if (schema["id"], attribute["name"]) in _REQUIRED:
            attribute["required"] = True
        if (schema["id"], attribute["name"]) in _READ_ONLY:
            attribute["mutability"] = "readOnly"
        attributes.append(attribute)
    schema["attributes"] = attributes
    return schema


def config() -> ServiceProviderConfig:
    return ServiceProviderConfig.model_validate({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": True,
            "description": "An access token from this provider's token endpoint (client_credentials grant) "
                           f"with the {SCOPE} scope.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
        }],
    })


@cache
def provider() -> ScimProvider:
    schemas = [Schema.model_validate(_cut(s)) for s in load_json_resource("default-schemas.json")]
    resource_types = [ResourceType.model_validate(r) for r in load_json_resource("default-resource-types.json")]
    for resource_type in resource_types:
        resource_type.description = {"User": "A person: their account at the provider",
                                     "Group": "A portal role (the roles claim), with the people who hold it"}[
            resource_type.id or ""]
    return ScimProvider.from_discovery(schemas, resource_types, config=config())
