"""`bench --scenario activities` (issue 19): an e-mail campaign's burst of e-mail activities in
ConnectWise (`--records` activities, one contact per ten: the issue's 20,000 on 2,000 contacts
by default) caught up into HubSpot, judged like the backfill against HubSpot's rate-limit
ceiling, with the API calls per activity and the latency of contact edits made in ConnectWise
while the burst runs (ConnectWise callbacks → the webhook endpoint → the inbox, which the
running pass drains between pages: fresh changes never wait behind the burst)."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from bench import lab as labs
from bench.ceiling import backfill_ceiling
from bench.database import child_environment
from bench.measure import ApiCalls
from bench.runs import ChildRun, sync_here, sync_in_child
from bench.services import serve_site
from syncsmart.engine import webhook_registration
from syncsmart.models import RecordLink, SyncRun

DEFAULT_ACTIVITIES = 20_000
ACTIVITIES_PER_CONTACT = 10
OBJECTS = ("companies", "contacts", "email_activities")
EDIT_INTERVAL_S = 0.5
EDIT_TIMEOUT_S = 120.0
# Calls the contact edits cost (their callbacks' reads and the HubSpot update), apart from the burst's.
EDIT_ENDPOINTS = (
    "connectwise GET company/contacts list",
    "hubspot POST batch/read",
    "hubspot POST associations/batch/read",
    "hubspot POST batch/update",
)


def activities(
    opts, *, judge: Callable[[dict], dict], percentile: Callable[[list[float], float], float | None]
) -> dict[str, Any]:
    """The scenario; `judge` and `percentile` are bench.scenarios' (which imports this module)."""
    total = opts.records or DEFAULT_ACTIVITIES
    contacts = max(1, total // ACTIVITIES_PER_CONTACT)
    lab = labs.build_lab("connectwise", latency_ms=opts.latency_ms, limits=True, objects=OBJECTS)
    site = serve_site()
    try:
        contact_ids = labs.seed_other(lab, contacts, prefix="camp")
        sync_here(lab.integration)  # contacts linked first: the scenario measures the burst, not the backfill
        settings.SITE_URL = site.base_url
        webhook_registration.register(lab.integration, "bench")
        _seed_emails(lab, contact_ids, total)
        lab.reset_counters()
        holder: dict[str, ChildRun] = {}
        burst = threading.Thread(
            target=lambda: holder.update(run=sync_in_child(lab.integration, child_environment(opts.database)))
        )
        started = time.monotonic()
        burst.start()
        editing = contact_ids if opts.updates else []  # --updates 0: the burst alone
        samples, missed, caught_up = _edit_contacts_while(burst, lab, editing, total)
        burst.join()
        burst_s = (caught_up or time.monotonic()) - started
        child = holder["run"]
        run = SyncRun.objects.get(pk=child.output["run"])
        created = int(run.counts.get("created", 0))
        calls = ApiCalls.read(lab.emulators)
        run_s = (run.finished_at - run.started_at).total_seconds()
        ceiling, formula = backfill_ceiling("connectwise", lab.hubspot.emulator.per_10s, statistics.mean(opts.latency_ms) / 1000)
        rate = created / burst_s if burst_s else 0.0
        edit_calls = sum(
            n
            for system, per in calls.by_endpoint.items()
            for endpoint, n in per.items()
            if f"{system} {endpoint}" in EDIT_ENDPOINTS
        )
        figures = {
            "ratio_to_ceiling": round(rate / ceiling, 3),
            "api_calls_per_record": round((calls.total() - edit_calls) / max(created, 1), 4),
            "p95_s": percentile(sorted(samples), 95),
        }
        return {
            **figures,
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
            "contact_edits": len(samples) + missed,
            "contact_edits_seen": len(samples),
            "contact_edit_p50_s": percentile(sorted(samples), 50),
            "peak_rss_mb": round(child.peak_rss_mb, 1),
            "latency_ms": list(opts.latency_ms),
            "targets": judge(figures),
        }
    finally:
        site.stop()
        lab.stop()


def _seed_emails(lab: labs.Lab, contact_ids: list[str], total: int) -> None:
    emulator = lab.other.emulator
    for n in range(total):
        contact = int(contact_ids[n % len(contact_ids)])
        emulator.add_activity(
            f"Spring campaign {n // len(contact_ids) + 1}",
            type="Email",
            contact_id=contact,
            notes="Spring offer: 20 % off managed services.",
            dateStart="2026-03-02T10:00:00Z",
        )


def _edit_contacts_while(
    burst: threading.Thread, lab: labs.Lab, contact_ids: list[str], total: int
) -> tuple[list[float], int, float | None]:
    """Edit one contact's first name in ConnectWise every EDIT_INTERVAL_S until HubSpot holds
    every e-mail of the burst; each edit is timed until HubSpot holds the value. Returns the
    samples, the edits never seen and when the burst was caught up (monotonic)."""
    links = dict(
        RecordLink.objects.filter(integration=lab.integration, other_object="contacts").values_list("other_id", "hubspot_id")
    )
    pending: list[tuple[float, str, str]] = []
    samples: list[float] = []
    n = 0
    caught_up: float | None = None
    time.sleep(1.0)  # the child run starts
    while burst.is_alive() and n < len(contact_ids):
        if lab.hubspot.emulator.count("emails") >= total:
            caught_up = time.monotonic()
            break
        other_id = contact_ids[n]
        value = f"Edited{n}"
        lab.other.emulator.edit("contacts", int(other_id), {"firstName": value})
        pending.append((time.monotonic(), links[other_id], value))
        n += 1
        pending = _seen(lab, pending, samples)
        time.sleep(EDIT_INTERVAL_S)
    deadline = time.monotonic() + EDIT_TIMEOUT_S
    while (pending or caught_up is None) and time.monotonic() < deadline:
        pending = _seen(lab, pending, samples)
        if caught_up is None and lab.hubspot.emulator.count("emails") >= total:
            caught_up = time.monotonic()
        time.sleep(0.05)
    return samples, len(pending), caught_up


def _seen(lab: labs.Lab, pending: list[tuple[float, str, str]], samples: list[float]) -> list[tuple[float, str, str]]:
    still = []
    for started, hub_id, value in pending:
        if (lab.hubspot.emulator.get_record("contacts", hub_id) or {}).get("firstname") == value:
            samples.append(time.monotonic() - started)
        else:
            still.append((started, hub_id, value))
    return still
