"""More than 10,000 HubSpot changes inside one search window (HubSpot search stops at 10,000
results per query): the engine still sees every one of them, exactly once per version."""

import pytest

from syncsmart.models import RecordEvent, SyncCursor

pytestmark = pytest.mark.django_db

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def test_more_than_10000_changes_in_one_window_none_lost(cw_pair):
    companies = cw_pair.integration.object_mappings.get(hubspot_object="companies")
    companies.direction, companies.create_policy = "to_other", "match_only"  # read and judge every record, write none
    companies.save()
    cw_pair.hubspot.freeze_clock(START_MS)
    ids = {cw_pair.hubspot.create_record("companies", {"name": f"Bulk {n}"}, notify=False) for n in range(10_050)}
    for n in range(150):  # and a few more in the same window
        if n % 3 == 0:
            cw_pair.hubspot.advance_clock(1)
        ids.add(cw_pair.hubspot.create_record("companies", {"name": f"Spread {n}"}, notify=False))
    cw_pair.hubspot.advance_clock(60_000)
    run = cw_pair.sync()
    assert run.status == "succeeded", run.error
    seen = set(
        RecordEvent.objects.filter(run=run, source_side="hubspot", source_object="companies").values_list("source_id", flat=True)
    )
    assert seen == ids
    assert run.pages >= 10_200 // 200
    assert SyncCursor.objects.get(object_mapping=companies, side="hubspot").cursor
