"""A Dynamics historical sync from a date reads only rows modified since then (`modifiedon ge`),
paged by the server, like the HubSpot and ConnectWise sides."""

from __future__ import annotations

import datetime as dt
import json
import time

from connectors.dynamics.connector import DynamicsConnector
from connectors.dynamics.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DynamicsEmulator
from syncsmart.engine.counts import count_records, since_cursor
from syncsmart.models import SyncCursor, SyncRun

BASE = "http://dynamics.invalid"


def old_and_new(emulator: DynamicsEmulator, old: int, new: int) -> tuple[set[str], dt.datetime]:
    for n in range(old):
        emulator.create_record("accounts", {"name": f"Old {n}"})
    start = emulator.last_modified + dt.timedelta(milliseconds=1)
    time.sleep(0.005)  # the emulator stamps modifiedon by the wall clock
    fresh = {emulator.create_record("accounts", {"name": f"New {n}"}) for n in range(new)}
    return fresh, start


def test_reading_since_a_date_pages_through_only_the_rows_modified_since():
    emulator = DynamicsEmulator(limits=False)
    fresh, start = old_and_new(emulator, 7, 5)
    connector = DynamicsConnector(
        BASE, DEFAULT_TENANT, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, token_url_base=BASE, transport=emulator.transport()
    )
    cursor, seen, pages = since_cursor("dynamics", start), [], 0
    while True:
        page = connector.read_changes("accounts", cursor, page_size=2)
        seen += [r.id for r in page.records]
        cursor, pages = json.loads(json.dumps(page.cursor)), pages + 1
        if not page.has_more:
            break
    assert sorted(seen) == sorted(fresh) and pages == 3
    connector.close()


def test_a_historical_sync_since_a_date_brings_only_the_newer_dynamics_accounts(dyn_pair):
    fresh, start = old_and_new(dyn_pair.other, 4, 3)
    mapping = dyn_pair.integration.object_mappings.get(other_object="accounts")
    assert count_records(dyn_pair.integration.other_connection, "accounts", start) == 3
    SyncCursor.objects.create(
        integration=dyn_pair.integration,
        object_mapping=mapping,
        side="other",
        kind=SyncCursor.Kind.HISTORICAL,
        cursor=since_cursor("dynamics", start),
    )
    run = dyn_pair.sync(trigger=SyncRun.Trigger.HISTORICAL, object_mapping=mapping, state={"since": start.isoformat()})
    assert run.status == "succeeded", run.error
    names = {dyn_pair.hubspot.get_record("companies", i)["name"] for i in _all_companies(dyn_pair.hubspot)}
    assert {n for n in names if n.startswith(("Old", "New"))} == {"New 0", "New 1", "New 2"}


def _all_companies(hubspot) -> list[str]:
    with hubspot.lock:
        return [str(r.id) for r in hubspot.records["companies"].values() if not r.archived]
