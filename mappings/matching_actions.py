"""The customer's answer to an ambiguous match: link exactly the chosen pair, audited.

One action for the record log's one-click choice and the REST API. The link is stored at once
(no other record can take that counterpart meanwhile) with no baseline, so the next run treats
the pair as freshly matched: fields flow by the mapping's system of record, nothing is created.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from syncsmart import models as m
from syncsmart.core.choices import Side
from tenants.actions import audit


@transaction.atomic
def resolve_ambiguous(match, actor, target_id: str):
    """Link match's record to `target_id`, one of its candidates. Raises ValidationError with a
    customer-readable reason (not a candidate, already resolved, already linked elsewhere)."""
    match = m.AmbiguousMatch.objects.select_for_update().select_related("object_mapping", "integration").get(pk=match.pk)
    target_id = str(target_id or "").strip()
    if match.resolved_at is not None:
        raise ValidationError(f"This match was already resolved (linked to {match.chosen_id}).", code="conflict")
    if target_id not in match.candidate_ids():
        raise ValidationError("Choose one of the candidates listed for this record.", code="conflict")
    mapping = match.object_mapping
    hub_id, other_id = (match.source_id, target_id) if match.source_side == Side.HUBSPOT else (target_id, match.source_id)
    taken = m.RecordLink.objects.filter(object_mapping=mapping).filter(
        **({"other_id": other_id} if match.source_side == Side.HUBSPOT else {"hubspot_id": hub_id})
    )
    if taken.exists():
        raise ValidationError(f"{match.target_object} {target_id} is already linked to another record.", code="conflict")
    mine = m.RecordLink.objects.filter(
        object_mapping=mapping, **({"hubspot_id": hub_id} if match.source_side == Side.HUBSPOT else {"other_id": other_id})
    )
    if mine.exists():
        raise ValidationError("This record is already linked.", code="conflict")
    try:
        with transaction.atomic():
            m.RecordLink.objects.create(
                integration=match.integration,
                object_mapping=mapping,
                hubspot_object=mapping.hubspot_object,
                other_object=mapping.other_object,
                hubspot_id=hub_id,
                other_id=other_id,
            )
    except IntegrityError as exc:
        raise ValidationError("That pair was linked by a run a moment ago; reload to see it.", code="conflict") from exc
    now = timezone.now()
    who = actor.get_username() if getattr(actor, "is_authenticated", False) else str(actor or "system")
    match.chosen_id, match.resolved_at, match.resolved_by = target_id, now, who[:200]
    match.save(update_fields=["chosen_id", "resolved_at", "resolved_by", "updated_at"])
    # The same conflict seen from the chosen record's side is settled too.
    m.AmbiguousMatch.objects.filter(
        object_mapping=mapping, source_side=match.target_side, source_id=target_id, resolved_at__isnull=True
    ).update(chosen_id=match.source_id, resolved_at=now, resolved_by=who[:200])
    # The next run syncs the pair (its fields), without waiting for either record to change.
    m.DeferredRecord.objects.update_or_create(
        object_mapping=mapping,
        source_side=match.source_side,
        record_id=match.source_id,
        defaults=dict(integration=match.integration, reason="Match chosen by a user", attempts=0, next_attempt_at=now),
    )
    audit(
        match.integration.tenant,
        actor,
        "match.resolved",
        mapping,
        summary=f"{mapping}: {match.source_object} {match.source_id} linked to {match.target_object} {target_id}",
        source_side=match.source_side,
        source_id=match.source_id,
        target_id=target_id,
    )
    return match
