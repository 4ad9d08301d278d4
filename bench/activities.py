"""`bench --scenario activities` (issue 19): an e-mail campaign's burst of e-mail activities in
ConnectWise or Dynamics 365 (`--systems`; `--records` activities, one contact per ten: the
issue's 20,000 on 2,000 contacts at `--records 20000`) caught up into HubSpot, judged against
the ceiling HubSpot's rate limit puts on activities (bench.ceiling.activities_ceiling), with the
API calls per activity and the latency of contact edits made in the other system while the burst
runs. The product's webhooks are registered before the campaign: every activity notifies (a
ConnectWise callback, a Dataverse webhook step), as a real campaign's would, so the burst reaches
the inbox as thousands of notifications, and each contact edit's notification waits behind them
(the engine works parents' notifications first, syncsmart/engine/run.py `_next_inbox_batch`).
Each edit's latency is split: vendor → our inbox (`intake`), inbox → the pass's event (`wait`)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from bench import lab as labs
from bench.ceiling import activities_ceiling
from bench.database import child_environment
from bench.measure import ApiCalls
from bench.runs import ChildRun, sync_here, sync_in_child
from bench.services import serve_site
from syncsmart.engine import webhook_registration
from syncsmart.models import InboxItem, RecordEvent, RecordLink, SyncRun

DEFAULT_ACTIVITIES = 20_000
ACTIVITIES_PER_CONTACT = 10
EDIT_INTERVAL_S = 0.5
EDIT_TIMEOUT_S = 120.0
# The campaign is logged in slices: each slice's notifications are delivered before the next is
# logged, so the emulator's one-thread-per-delivery sender never holds thousands of threads.
SEED_SLICE = 100
SEED_DELIVERY_TIMEOUT_S = 300.0
DYNAMICS_TO_RECIPIENT = 2  # activityparty participationtypemask: To


@dataclass(frozen=True)
class Campaign:
    """How a user of one system logs the campaign's e-mails and edits a contact."""

    objects: tuple[str, ...]
    add_email: Callable[[Any, str, int], Any]
    edit_contact: Callable[[Any, str, str], Any]
    # Calls the contact edits cost (their notifications' reads and the HubSpot update), apart from the burst's.
    edit_endpoints: tuple[str, ...]


def _dynamics_email(emulator: Any, contact: str, n: int) -> Any:
    return emulator.create_record(
        "emails",
        {
            "subject": f"Spring campaign {n}",
            "description": "Spring offer: 20 % off managed services.",
            "regardingobjectid": contact,
            "email_activity_parties": [
                {"partyid_contact@odata.bind": f"/contacts({contact})", "participationtypemask": DYNAMICS_TO_RECIPIENT}
            ],
        },
    )


CAMPAIGNS = {
    "connectwise": Campaign(
        ("companies", "contacts", "email_activities"),
        lambda emulator, contact, n: emulator.add_activity(
            f"Spring campaign {n}",
            type="Email",
            contact_id=int(contact),
            notes="Spring offer: 20 % off managed services.",
            dateStart="2026-03-02T10:00:00Z",
        ),
        lambda emulator, contact, value: emulator.edit("contacts", int(contact), {"firstName": value}),
        (
            "connectwise GET company/contacts list",
            "hubspot POST batch/read",
            "hubspot POST associations/batch/read",
            "hubspot POST batch/update",
        ),
    ),
    "dynamics": Campaign(
        ("accounts", "contacts", "emails"),
        _dynamics_email,
        lambda emulator, contact, value: emulator.edit_record("contacts", contact, {"firstname": value}),
        (
            "dynamics GET contacts",
            "hubspot POST batch/read",
            "hubspot POST associations/batch/read",
            "hubspot POST batch/update",
        ),
    ),
}


def activities(
    opts, *, judge: Callable[[dict], dict], percentile: Callable[[list[float], float], float | None]
) -> dict[str, Any]:
    """The scenario for each of `--systems` that has a campaign; ConnectWise's figures are the
    top level, each other pair's under its name. `judge` and `percentile` are bench.scenarios'."""
    results = {
        system: _campaign(opts, system, judge=judge, percentile=percentile) for system in opts.systems if system in CAMPAIGNS
    }
    first = results.pop("connectwise", None) or results.pop(next(iter(results)))
    return {**first, **results}


def _campaign(
    opts, system: str, *, judge: Callable[[dict], dict], percentile: Callable[[list[float], float], float | None]
) -> dict[str, Any]:
    campaign = CAMPAIGNS[system]
    total = opts.records or DEFAULT_ACTIVITIES
    contacts = max(1, total // ACTIVITIES_PER_CONTACT)
    lab = labs.build_lab(system, latency_ms=opts.latency_ms, limits=True, objects=campaign.objects)
    site = serve_site()
    try:
        contact_ids = labs.seed_other(lab, contacts, prefix="camp")
        sync_here(lab.integration)  # contacts linked first: the scenario measures the burst, not the backfill
        settings.SITE_URL = site.base_url
        if opts.campaign_webhooks:
            webhook_registration.register(lab.integration, "bench")
        seeding = _seed_emails(lab, campaign, contact_ids, total)
        if not opts.campaign_webhooks:  # the contact edits still notify
            webhook_registration.register(lab.integration, "bench")
        lab.reset_counters()
        holder: dict[str, ChildRun] = {}
        burst = threading.Thread(
            target=lambda: holder.update(run=sync_in_child(lab.integration, child_environment(opts.database)))
        )
        known = set(SyncRun.objects.filter(integration=lab.integration).values_list("pk", flat=True))
        burst.start()
        started = _run_started(lab, known, burst)  # the child's start-up (seconds on a loaded machine) is not the burst's
        editing = contact_ids if opts.updates else []  # --updates 0: the burst alone
        edits, missed, caught_up = _edit_contacts_while(burst, lab, campaign, editing, total)
        burst.join()
        burst_s = (caught_up or time.monotonic()) - started
        child = holder["run"]
        run = SyncRun.objects.get(pk=child.output["run"])
        created = int(run.counts.get("created", 0))
        calls = ApiCalls.read(lab.emulators)
        run_s = (run.finished_at - run.started_at).total_seconds()
        ceiling, formula = activities_ceiling(system, lab.hubspot.emulator.per_10s)
        rate = created / burst_s if burst_s else 0.0
        edit_calls = sum(
            n
            for name, per in calls.by_endpoint.items()
            for endpoint, n in per.items()
            if f"{name} {endpoint}" in campaign.edit_endpoints
        )
        samples = sorted(e["seen_s"] for e in edits)
        figures = {
            "ratio_to_ceiling": round(rate / ceiling, 3),
            "api_calls_per_record": round((calls.total() - edit_calls) / max(created, 1), 4),
            "p95_s": percentile(samples, 95),
        }
        return {
            **figures,
            "system": system,
            "campaign_webhooks": opts.campaign_webhooks,
            "activities": total,
            "contacts": contacts,
            "created": created,
            "run_status": run.status,
            "run_s": round(run_s, 2),
            "burst_s": round(burst_s, 2),
            "records_per_s": round(rate, 1),
            "api_calls_of_contact_edits": edit_calls,
            "ceiling_records_per_s": round(ceiling, 1),
            "ceiling_formula": formula,
            "api_calls": calls.total(),
            "api_calls_by_endpoint": calls.per_record(created),
            "contact_edits": len(edits) + missed,
            "contact_edits_seen": len(edits),
            "contact_edit_p50_s": percentile(samples, 50),
            **_split(lab, run, edits, percentile),
            **seeding,
            "peak_rss_mb": round(child.peak_rss_mb, 1),
            "latency_ms": list(opts.latency_ms),
            "targets": judge(figures),
        }
    finally:
        site.stop()
        lab.stop()


def _run_started(lab: labs.Lab, known: set, burst: threading.Thread) -> float:
    """When the child's run is under way (monotonic)."""
    while burst.is_alive():
        if SyncRun.objects.filter(integration=lab.integration, status=SyncRun.Status.RUNNING).exclude(pk__in=known).exists():
            break
        time.sleep(0.05)
    return time.monotonic()


def _sender(lab: labs.Lab) -> Any:
    emulator = lab.other.emulator
    return getattr(emulator, "webhooks", None) or emulator.webhook_sender


def _seed_emails(lab: labs.Lab, campaign: Campaign, contact_ids: list[str], total: int) -> dict[str, Any]:
    """The campaign's e-mails, SEED_SLICE at a time, each slice's notifications delivered before
    the next. Returns what the intake made of them."""
    emulator, sender = lab.other.emulator, _sender(lab)
    started = time.monotonic()
    before = len(sender.deliveries)
    for n in range(total):
        campaign.add_email(emulator, contact_ids[n % len(contact_ids)], n // len(contact_ids) + 1)
        if (n + 1) % SEED_SLICE == 0:
            sender.wait_idle(timeout=SEED_DELIVERY_TIMEOUT_S)
    sender.wait_idle(timeout=SEED_DELIVERY_TIMEOUT_S)
    deliveries = sender.deliveries[before:]
    refused = [d for d in deliveries if not (isinstance(d["status"], int) and d["status"] < 300)]
    return {
        "seed_s": round(time.monotonic() - started, 1),
        "notifications_delivered": len(deliveries) - len(refused),
        "notifications_refused": len(refused),  # after the vendor's retries: the change feed still reads them
        "inbox_before_burst": InboxItem.objects.filter(integration=lab.integration, status=InboxItem.Status.PENDING).count(),
    }


def _edit_contacts_while(
    burst: threading.Thread, lab: labs.Lab, campaign: Campaign, contact_ids: list[str], total: int
) -> tuple[list[dict[str, Any]], int, float | None]:
    """Edit one contact's first name every EDIT_INTERVAL_S until HubSpot holds every e-mail of
    the burst; each edit is timed until HubSpot holds the value. Returns the edits seen (with
    when each was made, wall clock, and `seen_s`), the edits never seen and when the burst was
    caught up (monotonic)."""
    links = dict(
        RecordLink.objects.filter(integration=lab.integration, other_object="contacts").values_list("other_id", "hubspot_id")
    )
    pending: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    n = 0
    caught_up: float | None = None
    while burst.is_alive() and n < len(contact_ids):
        if lab.hubspot.emulator.count("emails") >= total:
            caught_up = time.monotonic()
            break
        other_id = contact_ids[n]
        value = f"Edited{n}"
        edit = {"other_id": str(other_id), "hub_id": links[str(other_id)], "value": value, "at": time.time()}
        campaign.edit_contact(lab.other.emulator, other_id, value)
        edit["started"] = time.monotonic()
        pending.append(edit)
        n += 1
        pending = _seen(lab, pending, seen)
        time.sleep(EDIT_INTERVAL_S)
    deadline = time.monotonic() + EDIT_TIMEOUT_S
    while (pending or caught_up is None) and time.monotonic() < deadline:
        pending = _seen(lab, pending, seen)
        if caught_up is None and lab.hubspot.emulator.count("emails") >= total:
            caught_up = time.monotonic()
        time.sleep(0.05)
    return seen, len(pending), caught_up


def _seen(lab: labs.Lab, pending: list[dict[str, Any]], seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    still = []
    for edit in pending:
        if (lab.hubspot.emulator.get_record("contacts", edit["hub_id"]) or {}).get("firstname") == edit["value"]:
            edit["seen_s"] = time.monotonic() - edit["started"]
            seen.append(edit)
        else:
            still.append(edit)
    return still


def _split(
    lab: labs.Lab, run: SyncRun, edits: list[dict[str, Any]], percentile: Callable[[list[float], float], float | None]
) -> dict[str, Any]:
    """Where each edit's time went: from the edit to its notification stored in our inbox
    (`intake`: the vendor's delivery and our webhook endpoint), and from there to the event the
    pass logged for it (`wait`: behind the burst's pages and notifications)."""
    ids = {edit["other_id"] for edit in edits}
    received: dict[str, list[dt.datetime]] = {}
    for record_id, at in InboxItem.objects.filter(
        integration=lab.integration, object_type="contacts", record_id__in=ids
    ).values_list("record_id", "received_at"):
        received.setdefault(record_id, []).append(at)
    logged: dict[str, list[dt.datetime]] = {}
    for record_id, at in RecordEvent.objects.filter(run=run, source_side="other", source_id__in=ids).values_list(
        "source_id", "created_at"
    ):
        logged.setdefault(record_id, []).append(at)
    intake, wait = [], []
    for edit in edits:
        made = dt.datetime.fromtimestamp(edit["at"], tz=dt.UTC)
        item = min((at for at in received.get(edit["other_id"], []) if at >= made), default=None)
        event = min((at for at in logged.get(edit["other_id"], []) if at >= made), default=None)
        if item is not None:
            intake.append((item - made).total_seconds())
        if item is not None and event is not None:
            wait.append((event - item).total_seconds())
    return {
        "edit_intake_p50_s": percentile(sorted(intake), 50),
        "edit_intake_p95_s": percentile(sorted(intake), 95),
        "edit_wait_in_inbox_p50_s": percentile(sorted(wait), 50),
        "edit_wait_in_inbox_p95_s": percentile(sorted(wait), 95),
        "edits_notified": len(intake),
    }
