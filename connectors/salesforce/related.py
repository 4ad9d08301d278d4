"""An activity's "Related To" (Task / Event WhatId) as two typed references the engine can map.

WhatId is polymorphic: it names an Account or an Opportunity (schema.py), never both, and never
anything while WhoId is a Lead. Salesforce derives the activity's read-only AccountId from it (the
Account itself, or the Opportunity's AccountId). HubSpot keeps an engagement's company and deal as
two associations, so the connector shows WhatId as two pseudo-fields of Task and Event:

- `WhatId_Account` reads the activity's account: WhatId when it is an Account, AccountId (the
  opportunity's account) when WhatId is an Opportunity; empty otherwise.
- `WhatId_Opportunity` reads WhatId when it is an Opportunity; empty otherwise.

Writing them sets WhatId by Salesforce's rule "the opportunity is the more specific relation": an
opportunity given wins (its account follows from it); an account alone replaces WhatId unless the
activity is already related to an opportunity (then the account is Salesforce's to derive); an
opportunity removed falls back to the account the activity had through it. The last two need the
activity's current WhatId: `update` reads it (one sObject Collections retrieve per 2,000 such
records, only for updates that change exactly one of the two). The names end in neither `__c` nor
`Id`, so they can never collide with a Salesforce field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import FieldInfo, FieldType

WHAT_ACCOUNT = "WhatId_Account"
WHAT_OPPORTUNITY = "WhatId_Opportunity"
PSEUDO_FIELDS = (WHAT_ACCOUNT, WHAT_OPPORTUNITY)
ACTIVITY_SOBJECTS = ("Task", "Event")
ACCOUNT_PREFIX, OPPORTUNITY_PREFIX, LEAD_PREFIX = "001", "006", "00Q"
_MISSING = object()


def pseudo_fields(sobject: str) -> list[FieldInfo]:
    """The two typed views of WhatId an activity sObject adds to its described fields."""
    if sobject not in ACTIVITY_SOBJECTS:
        return []
    return [
        FieldInfo(
            name=WHAT_ACCOUNT,
            label="Related To (Account)",
            type=FieldType.REFERENCE,
            reference_to="Account",
            description=f"SyncSmart: {sobject}.WhatId when it is an Account, or the account of its Opportunity",
        ),
        FieldInfo(
            name=WHAT_OPPORTUNITY,
            label="Related To (Opportunity)",
            type=FieldType.REFERENCE,
            reference_to="Opportunity",
            description=f"SyncSmart: {sobject}.WhatId when it is an Opportunity",
        ),
    ]


def _is(value: Any, prefix: str) -> bool:
    return str(value or "").startswith(prefix)


def read_values(properties: Mapping[str, Any]) -> dict[str, str | None]:
    """The pseudo-fields' values from an activity's WhatId and AccountId; none for a lead's
    activity (it cannot be related to anything, so it says nothing about its account or deal:
    the engine never blanks a field it did not read)."""
    if _is(properties.get("WhoId"), LEAD_PREFIX):
        return {}
    what = properties.get("WhatId")
    if _is(what, OPPORTUNITY_PREFIX):
        return {WHAT_ACCOUNT: properties.get("AccountId") or None, WHAT_OPPORTUNITY: str(what)}
    return {WHAT_ACCOUNT: str(what) if _is(what, ACCOUNT_PREFIX) else None, WHAT_OPPORTUNITY: None}


def needs_current(properties: Mapping[str, Any]) -> bool:
    """An update that sets exactly one of the two, and no opportunity: its outcome depends on
    what the activity is related to now."""
    has_account, has_opportunity = WHAT_ACCOUNT in properties, WHAT_OPPORTUNITY in properties
    if has_opportunity and properties[WHAT_OPPORTUNITY]:
        return False
    return has_account != has_opportunity


def apply(body: dict[str, Any], current: Mapping[str, Any] | None = None) -> None:
    """Replace the pseudo-fields in a write body by the WhatId they mean (or leave WhatId as it is)."""
    account = body.pop(WHAT_ACCOUNT, _MISSING)
    opportunity = body.pop(WHAT_OPPORTUNITY, _MISSING)
    if account is _MISSING and opportunity is _MISSING:
        return
    current_what = (current or {}).get("WhatId")
    if opportunity not in (_MISSING, None, ""):
        body["WhatId"] = opportunity
    elif opportunity is _MISSING:  # only the account changed
        if not _is(current_what, OPPORTUNITY_PREFIX):
            body["WhatId"] = account or None
    elif account is not _MISSING:  # both given, no opportunity
        body["WhatId"] = account or None
    elif _is(current_what, OPPORTUNITY_PREFIX):  # the opportunity removed: back to its account
        body["WhatId"] = (current or {}).get("AccountId") or None
