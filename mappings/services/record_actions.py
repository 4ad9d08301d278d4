"""One record's actions, shared by the record page and the REST API: retry it now, re-sync it
(every mapped field sent again) and unlink it. Each is audited by the action it calls and
queues its work through the engine's run requests."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist

from mappings.models import Integration, ObjectMapping
from mappings.services import actions
from syncsmart.core.choices import Side
from syncsmart.engine import run_requests
from syncsmart.models import RecordLink, SyncRun

SIDES = {Side.HUBSPOT.value, Side.OTHER.value}


class NotLinked(ObjectDoesNotExist):
    """The record has no link in this object mapping (re-sync and unlink need one)."""


def link_of(mapping: ObjectMapping, side: str, record_id: str) -> RecordLink | None:
    return RecordLink.objects.filter(object_mapping=mapping, **{RecordLink.id_column(side): record_id}).first()


def retry_record(integration: Integration, mapping: ObjectMapping, side: str, record_id: str, actor) -> SyncRun:
    """Sync this one record now (a run limited to it)."""
    return run_requests.request_run(
        integration, actor, trigger="retry", records=[{"mapping": mapping.pk, "side": side, "id": record_id}]
    )


def resync_record(integration: Integration, mapping: ObjectMapping, side: str, record_id: str, actor) -> SyncRun:
    """Forget the pair's baseline, so every mapped field is sent again, and sync it now."""
    link = link_of(mapping, side, record_id)
    if link is None:
        raise NotLinked("This record is not linked, so there is nothing to re-sync; retry it instead.")
    actions.forget_sync_state(link, actor)
    return retry_record(integration, mapping, side, record_id, actor)


def unlink_record(mapping: ObjectMapping, side: str, record_id: str, actor) -> None:
    """Forget that the two records are the same; neither is deleted."""
    link = link_of(mapping, side, record_id)
    if link is None:
        raise NotLinked("This record is not linked.")
    actions.unlink_records(link, actor)
