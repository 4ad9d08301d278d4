"""JSON schemas of the HubSpot response shapes SyncSmart uses, written here from reading HubSpot's
published API reference (developers.hubspot.com and the OpenAPI documents HubSpot publishes on
GitHub, whose licence forbids copying them: nothing below is copied, the shapes are restated).

Each schema names the fields the reference marks required and the types it gives them; extra
fields are allowed, as HubSpot adds fields over time and clients must ignore what they do not know.
"""

from __future__ import annotations

from typing import Any

DATE_TIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}
BATCH_STATUS = {"enum": ["PENDING", "PROCESSING", "CANCELED", "COMPLETE"]}
STRINGS = {"type": "array", "items": {"type": "string"}}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": sorted(required), "properties": {**required, **(optional or {})}}


NEXT_PAGE = obj({"after": {"type": "string"}}, {"link": {"type": "string"}})
FORWARD_PAGING = obj({}, {"next": NEXT_PAGE})

# "Error" in every CRM reference: category, correlationId and message required.
ERROR = obj(
    {"category": {"type": "string"}, "correlationId": {"type": "string"}, "message": {"type": "string"}},
    {
        "status": {"type": "string"},
        "subCategory": {"type": "string"},
        "context": {"type": "object", "additionalProperties": STRINGS},
        "links": {"type": "object", "additionalProperties": {"type": "string"}},
        "errors": {"type": "array", "items": obj({"message": {"type": "string"}})},
    },
)
# A 429 adds the policy it hit.
RATE_LIMIT_ERROR = {
    "allOf": [
        ERROR,
        obj({"policyName": {"enum": ["TEN_SECONDLY_ROLLING", "SECONDLY", "DAILY"]}, "errorType": {"const": "RATE_LIMIT"}}),
    ]
}

# "SimplePublicObject": a CRM record.
RECORD = obj(
    {
        "id": {"type": "string"},
        "properties": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "createdAt": DATE_TIME,
        "updatedAt": DATE_TIME,
    },
    {"archived": {"type": "boolean"}, "archivedAt": DATE_TIME, "associations": {"type": "object"}},
)
UPSERTED_RECORD = {"allOf": [RECORD, obj({"new": {"type": "boolean"}})]}
RECORD_PAGE = obj({"results": {"type": "array", "items": RECORD}}, {"paging": FORWARD_PAGING})
SEARCH_PAGE = obj({"total": {"type": "integer"}, "results": {"type": "array", "items": RECORD}}, {"paging": FORWARD_PAGING})

# "StandardError": one failed input of a batch.
STANDARD_ERROR = obj(
    {
        "status": {"type": "string"},
        "category": {"type": "string"},
        "message": {"type": "string"},
        "context": {"type": "object", "additionalProperties": STRINGS},
        "errors": {"type": "array"},
        "links": {"type": "object"},
    },
    {"subCategory": {}, "id": {"type": "string"}},
)


def batch_response(item: dict[str, Any], with_errors: bool = False) -> dict[str, Any]:
    required = {
        "status": BATCH_STATUS,
        "results": {"type": "array", "items": item},
        "startedAt": DATE_TIME,
        "completedAt": DATE_TIME,
    }
    optional = {"requestedAt": DATE_TIME, "links": {"type": "object"}}
    if with_errors:
        required |= {"numErrors": {"type": "integer"}, "errors": {"type": "array", "items": STANDARD_ERROR}}
    return obj(required, optional)


# Properties: "Property" and its "Option"s.
OPTION = obj(
    {"label": {"type": "string"}, "value": {"type": "string"}, "hidden": {"type": "boolean"}},
    {"displayOrder": {"type": "integer"}, "description": {"type": "string"}},
)
PROPERTY = obj(
    {
        "name": {"type": "string"},
        "label": {"type": "string"},
        "type": {
            "enum": ["string", "number", "date", "datetime", "enumeration", "bool", "phone_number", "object_coordinates", "json"]
        },
        "fieldType": {"type": "string"},
        "groupName": {"type": "string"},
        "description": {"type": "string"},
        "options": {"type": "array", "items": OPTION},
    },
    {
        "hasUniqueValue": {"type": "boolean"},
        "hubspotDefined": {"type": "boolean"},
        "calculated": {"type": "boolean"},
        "externalOptions": {"type": "boolean"},
        "modificationMetadata": obj(
            {"archivable": {"type": "boolean"}, "readOnlyDefinition": {"type": "boolean"}},
            {"readOnlyValue": {"type": "boolean"}},
        ),
        "createdAt": DATE_TIME,
        "updatedAt": DATE_TIME,
        "referencedObjectType": {"type": "string"},
    },
)
PROPERTY_PAGE = obj({"results": {"type": "array", "items": PROPERTY}})

# Owners: "PublicOwner".
OWNER = obj(
    {
        "id": {"type": "string"},
        "type": {"enum": ["PERSON", "QUEUE"]},
        "createdAt": DATE_TIME,
        "updatedAt": DATE_TIME,
        "archived": {"type": "boolean"},
    },
    {
        "email": {"type": "string"},
        "firstName": {"type": "string"},
        "lastName": {"type": "string"},
        "userId": {"type": ["integer", "null"]},
        "userIdIncludingInactive": {"type": ["integer", "null"]},
        "teams": {"type": "array"},
    },
)
OWNER_PAGE = obj({"results": {"type": "array", "items": OWNER}}, {"paging": FORWARD_PAGING})

# Pipelines: "Pipeline" with "PipelineStage"s.
STAGE = obj(
    {
        "id": {"type": "string"},
        "label": {"type": "string"},
        "displayOrder": {"type": "integer"},
        "archived": {"type": "boolean"},
        "createdAt": DATE_TIME,
        "updatedAt": DATE_TIME,
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
    }
)
PIPELINE = obj(
    {
        "id": {"type": "string"},
        "label": {"type": "string"},
        "displayOrder": {"type": "integer"},
        "archived": {"type": "boolean"},
        "createdAt": DATE_TIME,
        "updatedAt": DATE_TIME,
        "stages": {"type": "array", "items": STAGE},
    }
)
PIPELINE_PAGE = obj({"results": {"type": "array", "items": PIPELINE}})

# Associations v4.
ASSOCIATION_TYPE = obj(
    {"category": {"enum": ["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"]}, "typeId": {"type": "integer"}},
    {"label": {"type": ["string", "null"]}},
)
ASSOCIATED = obj({"toObjectId": {"type": "integer"}, "associationTypes": {"type": "array", "items": ASSOCIATION_TYPE}})
ASSOCIATION_PAGE = obj({"results": {"type": "array", "items": ASSOCIATED}}, {"paging": FORWARD_PAGING})
DEFAULT_ASSOCIATION = obj(
    {
        "from": obj({"id": {"type": "string"}}),
        "to": obj({"id": {"type": "string"}}),
        "associationSpec": obj(
            {
                "associationCategory": {"enum": ["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"]},
                "associationTypeId": {"type": "integer"},
            }
        ),
    }
)
ASSOCIATIONS_OF_ONE = obj({"from": obj({"id": {"type": "string"}}), "to": {"type": "array", "items": ASSOCIATED}})

# Account info and OAuth.
ACCOUNT_DETAILS = obj(
    {
        "portalId": {"type": "integer"},
        "accountType": {"type": "string"},
        "timeZone": {"type": "string"},
        "companyCurrency": {"type": "string"},
        "additionalCurrencies": STRINGS,
        "utcOffset": {"type": "string"},
        "utcOffsetMilliseconds": {"type": "integer"},
        "uiDomain": {"type": "string"},
        "dataHostingLocation": {"type": "string"},
    }
)
TOKENS = obj(
    {
        "access_token": {"type": "string"},
        "refresh_token": {"type": "string"},
        "expires_in": {"type": "integer"},
        "token_type": {"type": "string"},
        "token_use": {"const": "access_token"},
    },
    {"hub_id": {"type": "integer"}, "user_id": {"type": "integer"}, "scopes": STRINGS, "id_token": {"type": "string"}},
)
ACCESS_TOKEN_INFO = obj(
    {
        "token": {"type": "string"},
        "token_type": {"type": "string"},
        "hub_id": {"type": "integer"},
        "app_id": {"type": "integer"},
        "user_id": {"type": "integer"},
        "scopes": STRINGS,
        "expires_in": {"type": "integer"},
    },
    {"user": {"type": "string"}, "hub_domain": {"type": "string"}, "is_private_distribution": {"type": "boolean"}},
)
REFRESH_TOKEN_INFO = obj(
    {
        "token": {"type": "string"},
        "token_type": {"type": "string"},
        "client_id": {"type": "string"},
        "hub_id": {"type": "integer"},
        "user_id": {"type": "integer"},
        "scopes": STRINGS,
    },
    {"user": {"type": "string"}, "hub_domain": {"type": "string"}},
)

# Lists v3 ("segments"): the list definition, the search answer, memberships and their changes.
PROCESSING_TYPE = {"enum": ["MANUAL", "DYNAMIC", "SNAPSHOT"]}
HUBSPOT_LIST = obj(
    {
        "listId": {"type": "string"},
        "listVersion": {"type": "integer"},
        "name": {"type": "string"},
        "objectTypeId": {"type": "string"},
        "processingStatus": {"type": "string"},
        "processingType": PROCESSING_TYPE,
    },
    {"createdAt": DATE_TIME, "updatedAt": DATE_TIME, "filtersUpdatedAt": DATE_TIME, "filterBranch": {"type": "object"}},
)
LIST_ANSWER = obj({"list": HUBSPOT_LIST})
LIST_SEARCH = obj(
    {
        "lists": {
            "type": "array",
            "items": {
                "allOf": [
                    HUBSPOT_LIST,
                    obj({"additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}}}),
                ]
            },
        },
        "offset": {"type": "integer"},
        "hasMore": {"type": "boolean"},
        "total": {"type": "integer"},
    }
)
MEMBERSHIP_PAGE = obj(
    {"results": {"type": "array", "items": obj({"recordId": {"type": "string"}, "membershipTimestamp": DATE_TIME})}},
    {"paging": FORWARD_PAGING, "total": {"type": "integer"}},
)
# The reference spells the first key "recordsIdsAdded".
MEMBERSHIP_CHANGE = obj({"recordsIdsAdded": STRINGS, "recordIdsRemoved": STRINGS, "recordIdsMissing": STRINGS})
RECORD_LISTS = obj(
    {
        "results": {
            "type": "array",
            "items": obj(
                {"listId": {"type": "string"}, "listVersion": {"type": "integer"}},
                {"firstAddedTimestamp": DATE_TIME, "lastAddedTimestamp": DATE_TIME},
            ),
        }
    },
    {"total": {"type": "integer"}},
)
