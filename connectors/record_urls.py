"""Where a person opens one record in its own system: the vendors' published URL patterns.

Each pattern needs only the connection's non-secret config. A connection to a built-in
emulator has no vendor UI, so it gets no vendor link (the record page links to the Demo
sandbox instead). Unknown systems or objects give None: no link is better than a wrong one."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlsplit

# HubSpot's object type ids in record URLs (app.hubspot.com/contacts/{portal}/record/{type}/{id}).
HUBSPOT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "tickets": "0-5"}
# ConnectWise Manage's "open record" router record types.
CONNECTWISE_RECORD_TYPES = {"companies": "CompanyFV", "contacts": "ContactFV", "opportunities": "OpportunityFV"}
# Dynamics 365 tables: our object name -> the entity's logical name.
DYNAMICS_LOGICAL = {"accounts": "account", "contacts": "contact", "leads": "lead", "opportunities": "opportunity"}


def record_url(system: str, config: dict[str, Any], object_type: str, record_id: str) -> str | None:
    """The URL of the record in the vendor's own UI, or None when there is no honest one."""
    if not record_id or (config or {}).get("emulator"):
        return None
    builder = BUILDERS.get(system)
    return builder(config or {}, object_type, str(record_id)) if builder else None


def _hubspot(config: dict[str, Any], object_type: str, record_id: str) -> str | None:
    portal, type_id = str(config.get("portal_id") or ""), HUBSPOT_TYPE_IDS.get(object_type)
    if not portal or not type_id:
        return None
    return f"https://app.hubspot.com/contacts/{quote(portal)}/record/{type_id}/{quote(record_id)}"


def _connectwise(config: dict[str, Any], object_type: str, record_id: str) -> str | None:
    record_type, base = CONNECTWISE_RECORD_TYPES.get(object_type), str(config.get("base_url") or "")
    if not record_type or not base:
        return None
    parts = urlsplit(base)
    query = urlencode({"companyName": config.get("company_id", ""), "recordType": record_type, "recid": record_id})
    return f"{parts.scheme}://{parts.netloc}/v4_6_release/services/system_io/router/openrecord.rails?{query}"


def _dynamics(config: dict[str, Any], object_type: str, record_id: str) -> str | None:
    logical, org = DYNAMICS_LOGICAL.get(object_type), str(config.get("org_url") or "").rstrip("/")
    if not logical or not org:
        return None
    return f"{org}/main.aspx?" + urlencode({"pagetype": "entityrecord", "etn": logical, "id": record_id})


def _salesforce(config: dict[str, Any], object_type: str, record_id: str) -> str | None:
    instance = str(config.get("instance_url") or "").rstrip("/")
    if not instance:
        return None
    # Salesforce object types are the sObject API names (Account, Contact...), a Task subtype after a dot.
    sobject = object_type.split(".", 1)[0]
    return f"{instance}/lightning/r/{quote(sobject)}/{quote(record_id)}/view" if sobject else None


BUILDERS = {"hubspot": _hubspot, "connectwise": _connectwise, "dynamics": _dynamics, "salesforce": _salesforce}
