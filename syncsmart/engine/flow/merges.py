"""HubSpot merges: a surviving record carries `hs_merged_object_ids` (and HubSpot sends a merge
webhook naming it). A link of a merged-away record moves to the survivor — unless the survivor is
linked already, then the merged-away record's link is dropped: nothing is merged on the other side
(its record is kept, unlinked, and remembered as KeptAfterMerge), and nothing is created twice —
neither now nor when that kept record is read again later (a cursor's overlap, a webhook of an
earlier write, an edit): creating it in HubSpot would bring the merged-away contact back."""

from __future__ import annotations

from connectors.base import Record
from syncsmart.core.choices import Side
from syncsmart.engine.flow.setup import FlowSetup
from syncsmart.models import KeptAfterMerge, RecordEvent, RecordLink

MERGED_PROPERTY = "hs_merged_object_ids"


def merged_ids(record: Record) -> list[str]:
    return [i for i in str(record.properties.get(MERGED_PROPERTY) or "").split(";") if i.strip()]


def repoint_merged(setup: FlowSetup, records: list[Record]) -> list[RecordEvent]:
    """Re-point (or drop) the links of records merged into these; returns the events to save."""
    if setup.source != Side.HUBSPOT:
        return []
    merged_of = {str(r.id): [i for i in merged_ids(r) if i != str(r.id)] for r in records}
    every = {i for ids in merged_of.values() for i in ids}
    if not every:
        return []
    links = {
        link.hubspot_id: link
        for link in RecordLink.objects.filter(object_mapping=setup.mapping, hubspot_id__in=every | set(merged_of))
    }
    events = []
    for survivor, ids in merged_of.items():
        for merged in ids:
            link = links.pop(merged, None)
            if link is None:
                continue
            if survivor in links:
                RecordLink.objects.filter(pk=link.pk).delete()
                KeptAfterMerge.objects.update_or_create(
                    object_mapping=setup.mapping,
                    other_id=link.other_id,
                    defaults={"integration": setup.ctx.integration, "merged_id": merged, "survivor_id": survivor},
                )
                message = (
                    f"Merged into {survivor} in HubSpot, which is linked already: the link to "
                    f"{link.other_id} was dropped and that record kept (merges are not synced)."
                )
            else:
                RecordLink.objects.filter(pk=link.pk).update(hubspot_id=survivor)
                link.hubspot_id = survivor
                links[survivor] = link
                message = f"Merged into {survivor} in HubSpot: the link now points at the survivor."
            events.append(
                RecordEvent(
                    run=setup.ctx.run,
                    integration=setup.ctx.integration,
                    object_mapping=setup.mapping,
                    source_side=Side.HUBSPOT,
                    source_object=setup.mapping.hubspot_object,
                    source_id=merged,
                    target_id=link.other_id,
                    outcome=RecordEvent.Outcome.LINKED,
                    message=message,
                )
            )
    return events


def kept_after_merge(setup: FlowSetup, unlinked_ids: list[str]) -> dict[str, str]:
    """Unlinked records of the other system kept after their HubSpot record was merged away: why
    each is not created in HubSpot (by id). One query, and none toward the other side."""
    if setup.source == Side.HUBSPOT or not unlinked_ids:
        return {}
    kept = KeptAfterMerge.objects.filter(object_mapping=setup.mapping, other_id__in=unlinked_ids)
    return {
        k.other_id: (
            f"Not created in HubSpot: its HubSpot record {k.merged_id} was merged into {k.survivor_id}, "
            "which is linked to another record (merges are not synced)."
        )
        for k in kept
    }
