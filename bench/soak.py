"""The fault soak: a bidirectional HubSpot ↔ ConnectWise (or Salesforce) sync under injected 429s, 5xx and
timeouts, while the q2 worker is SIGKILLed at random moments and restarted and both sides keep
receiving edits; then a record-by-record check that nothing was lost or duplicated and that
one more run writes nothing. With ConnectWise, the users also log calls on contacts on both sides
(HubSpot calls ↔ ConnectWise activities of type Call): each must arrive once on the other side,
on the right contact, and no call may be left without a record (orphans).

The runs execute where production runs them: in a `manage.py qcluster` child process, sharing a
throw-away database with this driver. The driver plays the scheduler (it asks for a run every
couple of seconds, as the per-integration schedule would, and calls the same sweep the q2
schedule calls, more often) and the users editing both systems.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import close_old_connections, transaction
from django.test.utils import override_settings
from django.utils import timezone

from bench import lab as labs
from bench.database import child_environment
from bench.runs import sync_here
from bench.scenarios import write_calls
from bench.services import Worker
from connectors.hubspot.emulator_engagements import orphans
from connectors.netsuite.connector import normalise_domain
from syncsmart.engine import queue, run_requests, tasks
from syncsmart.models import DeferredRecord, RunLease, SyncRun

DEFAULT_FAULTS = {"429": 0.10, "500": 0.025, "503": 0.025, "timeout": 0.02}
# An emulated timeout holds the connection this long, then drops it (the client sees a failed call).
TIMEOUT_SLEEP_S = 0.5
# The worker's lease and slice (settings.SYNC_LEASE_SECONDS / SYNC_SLICE_SECONDS): shorter than
# production's 120 s so a killed worker's run is taken over within a minute, yet longer than the
# slowest page under these faults (a page that outlives the lease is discarded and redone).
LEASE_SECONDS = 60
SLICE_SECONDS = 10
# The driver's sweep re-queues runs whose broker message died with a killed worker after this long.
STALE_QUEUED_SECONDS = 8


# Activities among the edits: HubSpot calls <-> ConnectWise activities of type Call.
SOAK_ACTIVITIES = {"connectwise": ("call_activities",)}


def _now_iso() -> str:
    return timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SoakOptions:
    records: int = 50_000
    faults: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FAULTS))
    kills: int = 3
    edits_per_second: float = 5.0
    seed: int = 1
    latency_ms: tuple[float, float] = (0, 0)
    max_minutes: float = 60.0
    lease_seconds: int = LEASE_SECONDS
    system: str = "connectwise"  # or "salesforce", "netsuite"


@dataclass
class EditLog:
    """Every edit a user made that the vendor accepted: (side, record id) -> {field: last value}."""

    last: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    edits: int = 0
    creates: int = 0
    # Calls logged: subject -> (side, the contact's id on that side).
    calls: dict[str, tuple[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, side: str, record_id: str, changes: dict[str, str]) -> None:
        with self.lock:
            self.last.setdefault((side, record_id), {}).update(changes)
            self.edits += 1


class Editors(threading.Thread):
    """Users of both systems: edit first/last names of contacts that originate on their side
    (so no two edits conflict and every accepted change has one right final value), and now
    and then create a new contact."""

    def __init__(self, lab: labs.Lab, log: EditLog, hub_ids: list[str], cw_ids: list[str], rate: float, seed: int):
        super().__init__(daemon=True, name="soak-editors")
        self.lab, self.log, self.rate = lab, log, rate
        self.ids = {"hubspot": list(hub_ids), "other": list(cw_ids)}
        self.seeded = {"hubspot": list(hub_ids), "other": list(cw_ids)}
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.n = 0

    def run(self) -> None:
        while not self.stop_event.wait(1.0 / self.rate):
            self.n += 1
            side = "hubspot" if self.n % 2 else "other"
            if self.n % 10 == 0:
                self._create(side)
            elif self.n % 5 == 0 and self.lab.system == "connectwise":
                # n is odd here, so `side` would always be HubSpot: calls alternate by their own count
                self._log_call("hubspot" if (self.n // 5) % 4 == 1 else "other")
            else:
                self._edit(side)

    def _edit(self, side: str) -> None:
        record_id = self.rng.choice(self.ids[side])
        value = f"Edit{self.n}"
        if side == "hubspot":
            self.lab.hubspot.emulator.edit_record("contacts", record_id, {"firstname": value})
        elif self.lab.system == "salesforce":
            self.lab.other.emulator.edit_record("Contact", record_id, {"FirstName": value})
        elif self.lab.system == "netsuite":
            self.lab.other.emulator.edit("contact", int(record_id), {"firstName": value})
        else:
            self.lab.other.emulator.edit("contacts", int(record_id), {"firstName": value})
        self.log.accept(side, record_id, {"firstname": value})

    def _log_call(self, side: str) -> None:
        """A call logged on a seeded contact (a contact created during the soak may still be on its way)."""
        contact = self.rng.choice(self.seeded[side])
        subject = f"Soak call {self.n}"
        if side == "hubspot":
            self.lab.hubspot.emulator.create_record(
                "calls", {"hs_call_title": subject, "hs_timestamp": _now_iso()}, associations={"contacts": [contact]}
            )
        else:
            self.lab.other.emulator.add_activity(subject, type="Call", contact_id=int(contact), dateStart=_now_iso())
        with self.log.lock:
            self.log.calls[subject] = (side, contact)

    def _create(self, side: str) -> None:
        email = f"new{self.n}@soak-new-{side}.example.com"
        if side == "hubspot":
            record_id = self.lab.hubspot.emulator.create_record(
                "contacts", {"email": email, "firstname": f"New{self.n}", "lastname": "Soak"}
            )
        elif self.lab.system == "salesforce":
            company = next(iter(self.lab.other.emulator.rows["Account"]))
            record_id = self.lab.other.emulator.create_record(
                "Contact", {"FirstName": f"New{self.n}", "LastName": "Soak", "Email": email, "AccountId": company}
            )
        elif self.lab.system == "netsuite":
            company = next(r["id"] for r in self.lab.other.emulator.all("customer") if not r.get("isPerson"))
            record_id = str(self.lab.other.emulator.add_contact(f"New{self.n}", "Soak", email, company)["id"])
        else:
            company = next(iter(self.lab.other.emulator.store["companies"]))
            record_id = str(self.lab.other.emulator.add_contact(f"New{self.n}", "Soak", company_id=company, email=email)["id"])
        with self.log.lock:
            self.log.creates += 1
        self.ids[side].append(record_id)
        self.log.accept(side, record_id, {"firstname": f"New{self.n}"})

    def stop(self) -> None:
        self.stop_event.set()
        self.join()


def soak(options: SoakOptions, database: dict, workdir: Path, say=print) -> dict[str, Any]:
    queue.STALE_QUEUED_SECONDS = STALE_QUEUED_SECONDS
    # The driver's sweep agrees with the workers (override_settings makes the engine read them again).
    override_settings(SYNC_LEASE_SECONDS=options.lease_seconds, SYNC_SLICE_SECONDS=SLICE_SECONDS).enable()
    lab = labs.build_lab(
        options.system,
        latency_ms=options.latency_ms,
        limits=False,
        objects=labs.BACKFILL_OBJECTS[options.system] + SOAK_ACTIVITIES.get(options.system, ()),
        seed=options.seed,
        timeout_sleep=TIMEOUT_SLEEP_S,
    )
    env = child_environment(database) | {
        "SYNC_LEASE_SECONDS": str(options.lease_seconds),
        "SYNC_SLICE_SECONDS": str(SLICE_SECONDS),
        "Q_TIMEOUT": "120",
    }
    worker = Worker(env, log_path=str(workdir / "soak-qcluster.log"))
    rng = random.Random(options.seed)
    started = time.monotonic()
    try:
        half = max(1, options.records // 2)
        cw_ids = labs.seed_other(lab, half, prefix="cw")
        hub_ids = labs.seed_hubspot(lab, options.records - half, prefix="hub")
        say(f"soak: seeded {half} {options.system} and {options.records - half} HubSpot contacts (+ companies)")
        lab.set_knobs(faults=options.faults)
        log = EditLog()
        editors = Editors(lab, log, hub_ids, cw_ids, options.edits_per_second, options.seed)
        worker.start()
        editors.start()
        kill_times = _kill_schedule(options, rng)
        deadline = started + options.max_minutes * 60
        stopped_at = None
        quiet_runs: set = set()
        while time.monotonic() < deadline:
            _schedule_and_sweep(lab)
            if kill_times and time.monotonic() - started >= kill_times[0]:
                kill_times.pop(0)
                worker.kill()
                say(f"soak: worker SIGKILLed ({worker.kills}) at {time.monotonic() - started:.0f}s, restarting")
                worker.start()
            if not kill_times and editors.is_alive() and _caught_up(lab):
                editors.stop()  # kills done and the backlog synced once: stop editing, let it converge
                stopped_at = timezone.now()
                say(f"soak: edits stopped after {log.edits} edits ({log.creates} creates) at {time.monotonic() - started:.0f}s")
            if stopped_at is not None:
                _deferred_due_now(lab)
                quiet = _quiet_run_since(lab, stopped_at)
                quiet_runs = quiet_runs | {quiet} if quiet else set()
                if len(quiet_runs) >= 2:  # two distinct runs, both started after the last edit, wrote nothing
                    break
            time.sleep(1.0)
        else:
            say("soak: time limit reached before convergence")
        if editors.is_alive():
            editors.stop()
        worker.stop()
        _finish_active_runs(lab)
        lab.set_knobs(faults={})
        return _verify(lab, log, options, worker.kills, time.monotonic() - started, say)
    finally:
        worker.stop()
        lab.stop()


def _kill_schedule(options: SoakOptions, rng: random.Random) -> list[float]:
    """Kill moments (seconds after start), spread over the first part of the sync, jittered."""
    span = max(10.0, min(options.records / 100, 600.0))
    return sorted(
        rng.uniform(3 + i * span / max(options.kills, 1), 3 + (i + 1) * span / max(options.kills, 1))
        for i in range(options.kills)
    )


def _schedule_and_sweep(lab: labs.Lab) -> None:
    """What q2's schedules do, every second: ask for a run, re-queue what a dead worker left."""
    close_old_connections()
    with transaction.atomic():
        run_requests.request_run(lab.integration, None, trigger=SyncRun.Trigger.SCHEDULE)
    tasks.sweep()


def _caught_up(lab: labs.Lab) -> bool:
    """The initial backfill has gone through: both sides hold as many contacts as were seeded."""
    return SyncRun.objects.filter(integration=lab.integration, status=SyncRun.Status.SUCCEEDED).exists()


def _quiet_run_since(lab: labs.Lab, since) -> Any:
    """The id of the latest finished run if it started after `since` and changed nothing, else None."""
    last = SyncRun.objects.filter(integration=lab.integration, status__in=SyncRun.FINISHED).order_by("-finished_at").first()
    if last is None or last.status != SyncRun.Status.SUCCEEDED or last.started_at is None or last.started_at <= since:
        return None
    busy = {
        k: v
        for k, v in (last.counts or {}).items()
        if v and (k.startswith("writes") or k in ("created", "updated", "deferred", "failed"))
    }
    return None if busy or _deferred_waiting(lab).exists() else last.pk


def _deferred_waiting(lab: labs.Lab):
    return DeferredRecord.objects.filter(integration=lab.integration, attempts__lt=DeferredRecord.MAX_ATTEMPTS)


def _deferred_due_now(lab: labs.Lab) -> None:
    """Compress time for records waiting for a parent (the engine backs off up to minutes
    between attempts): once edits stop, every waiting record is due at the next run."""
    _deferred_waiting(lab).filter(next_attempt_at__gt=timezone.now()).update(next_attempt_at=timezone.now())


def _finish_active_runs(lab: labs.Lab) -> None:
    """The worker is stopped: runs it left queued or running are cancelled so the check run can start."""
    SyncRun.objects.filter(integration=lab.integration, status__in=SyncRun.ACTIVE).update(status=SyncRun.Status.CANCELLED)

    RunLease.objects.filter(integration_id=lab.integration.pk).update(holder="")


# --- the record-by-record check ------------------------------------------------------------------------
def _hub_contacts(lab: labs.Lab) -> list[dict[str, str]]:
    emulator = lab.hubspot.emulator
    with emulator.lock:
        return [dict(r.properties, _id=str(r.id)) for r in emulator.records["contacts"].values() if not r.archived]


def _cw_contacts(lab: labs.Lab) -> list[dict[str, Any]]:
    if lab.system == "salesforce":
        return _sf_contacts(lab)
    if lab.system == "netsuite":
        return _ns_contacts(lab)
    rows = []
    for record in lab.other.emulator.records("contacts"):
        email = next(
            (
                i["value"]
                for i in record.get("communicationItems") or []
                if i.get("type", {}).get("name", "Email") == "Email" and "@" in str(i.get("value"))
            ),
            "",
        )
        rows.append(
            {
                "_id": str(record["id"]),
                "email": email.lower(),
                "firstname": record.get("firstName") or "",
                "lastname": record.get("lastName") or "",
                "company": str((record.get("company") or {}).get("id") or ""),
            }
        )
    return rows


def _companies(lab: labs.Lab) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, str], dict[str, str]]:
    """Companies by domain on each side, and company id -> domain on each side."""
    hub_by, cw_by, hub_domain, cw_domain = {}, {}, {}, {}
    emulator = lab.hubspot.emulator
    with emulator.lock:
        for r in emulator.records["companies"].values():
            if not r.archived:
                domain = str(r.properties.get("domain") or "").lower()
                if lab.system == "netsuite":  # NetSuite's web address is a URL; HubSpot's domain receives it as is
                    domain = normalise_domain(domain)
                hub_by.setdefault(domain, []).append(str(r.id))
                hub_domain[str(r.id)] = domain
    for r in _other_companies(lab):
        domain = str(r.get("website") or "").lower()
        cw_by.setdefault(domain, []).append(str(r["id"]))
        cw_domain[str(r["id"])] = domain
    return hub_by, cw_by, hub_domain, cw_domain


def _other_companies(lab: labs.Lab) -> list[dict[str, Any]]:
    if lab.system == "netsuite":  # company customers; their web address reduced to the domain HubSpot keeps
        customers = lab.other.emulator.all("customer")
        return [{"id": r["id"], "website": normalise_domain(str(r.get("url") or ""))} for r in customers if not r.get("isPerson")]
    if lab.system != "salesforce":
        return list(lab.other.emulator.records("companies"))
    emulator = lab.other.emulator
    with emulator.lock:
        return [{"id": r["Id"], "website": r.get("Website") or ""} for r in emulator.rows["Account"].values()]


def _ns_contacts(lab: labs.Lab) -> list[dict[str, Any]]:
    return [
        {
            "_id": str(r["id"]),
            "email": str(r.get("email") or "").lower(),
            "firstname": r.get("firstName") or "",
            "lastname": r.get("lastName") or "",
            "company": str(r.get("company") or ""),
        }
        for r in lab.other.emulator.all("contact")
    ]


def _sf_contacts(lab: labs.Lab) -> list[dict[str, Any]]:
    """Contacts and the leads not converted (a HubSpot contact is a Lead until then; a lead names
    its company in text, so its company is not compared)."""
    emulator = lab.other.emulator
    with emulator.lock:
        people = [(r, False) for r in emulator.rows["Contact"].values()]
        people += [(r, True) for r in emulator.rows["Lead"].values() if not r.get("IsConverted")]
        return [
            {
                "_id": r["Id"],
                "email": str(r.get("Email") or "").lower(),
                "firstname": r.get("FirstName") or "",
                "lastname": "" if r.get("LastName") == "[not provided]" else r.get("LastName") or "",
                "company": "" if lead else r.get("AccountId") or "",
                "lead": lead,
            }
            for r, lead in people
        ]


def _verify(lab: labs.Lab, log: EditLog, options: SoakOptions, kills: int, elapsed: float, say) -> dict[str, Any]:
    hub, cw = _hub_contacts(lab), _cw_contacts(lab)
    hub_by_email: dict[str, list[dict]] = {}
    cw_by_email: dict[str, list[dict]] = {}
    for row in hub:
        hub_by_email.setdefault(str(row.get("email") or "").lower(), []).append(row)
    for row in cw:
        cw_by_email.setdefault(row["email"], []).append(row)
    hub_companies, cw_companies, hub_domain, cw_domain = _companies(lab)
    duplicates = (
        sum(len(v) - 1 for v in hub_by_email.values())
        + sum(len(v) - 1 for v in cw_by_email.values())
        + sum(len(v) - 1 for v in hub_companies.values())
        + sum(len(v) - 1 for v in cw_companies.values())
    )
    one_sided = sorted(set(hub_by_email) ^ set(cw_by_email)) + sorted(set(hub_companies) ^ set(cw_companies))
    missing = len(one_sided)
    mismatched = 0
    for email in set(hub_by_email) & set(cw_by_email):
        h, c = hub_by_email[email][0], cw_by_email[email][0]
        hub_company = {hub_domain.get(i) for i in lab.hubspot.emulator.associated_ids("contacts", h["_id"], "companies")}
        same = (
            str(h.get("firstname") or "") == c["firstname"]
            and str(h.get("lastname") or "") == c["lastname"]
            and (c.get("lead") or (cw_domain.get(c["company"]) in hub_company if c["company"] else not hub_company))
        )
        mismatched += 0 if same else 1
    lost_edits, lost_examples = _lost_edits(lab, log, hub_by_email, cw_by_email)
    calls = _check_calls(lab, log, {r["_id"]: e for e, rows in hub_by_email.items() for r in rows}, cw_by_email)
    injected = Counter()
    for emulator in lab.emulators.values():
        injected.update(emulator.counters()["faults"])
    lab.reset_counters()
    rerun = sync_here(lab.integration)
    rerun_writes = write_calls(lab.hubspot.emulator) + write_calls(lab.other.emulator)
    result = {
        "records": len(set(hub_by_email) | set(cw_by_email)) + len(set(hub_companies) | set(cw_companies)),
        "contacts": len(set(hub_by_email) | set(cw_by_email)),
        "companies": len(set(hub_companies) | set(cw_companies)),
        "lost": lost_edits + missing + calls["lost"],
        "lost_edits": lost_edits,
        "missing_on_one_side": missing,
        "duplicates": duplicates + calls["duplicates"],
        "mismatched": mismatched + calls["misplaced"],
        "orphans": calls["orphans"],
        "activities": calls,
        "rerun_writes": rerun_writes,
        "rerun_status": rerun.status,
        "kills": kills,
        "edits": log.edits,
        "creates": log.creates,
        "faults": options.faults,
        "faults_injected": dict(injected),
        "elapsed_s": round(elapsed, 1),
        "runs": SyncRun.objects.filter(integration=lab.integration).count(),
        "deferred_waiting": _deferred_waiting(lab).count(),
        "deferred_gave_up": DeferredRecord.objects.filter(
            integration=lab.integration, attempts__gte=DeferredRecord.MAX_ATTEMPTS
        ).count(),
        "examples": {"missing_on_one_side": one_sided[:10], "lost_edits": lost_examples[:10], "rerun_counts": rerun.counts},
    }
    say(f"soak: {result}")
    return result


def _lost_edits(lab: labs.Lab, log: EditLog, hub_by_email, cw_by_email) -> tuple[int, list[str]]:
    """An accepted edit is lost unless its value is what BOTH sides hold now."""
    lost, examples = 0, []
    hub_by_id = {row["_id"]: row for rows in hub_by_email.values() for row in rows}
    cw_by_id = {row["_id"]: row for rows in cw_by_email.values() for row in rows}
    for (side, record_id), changes in log.last.items():
        origin = hub_by_id.get(record_id) if side == "hubspot" else cw_by_id.get(record_id)
        if origin is None:
            lost += 1
            examples.append(f"{side} {record_id}: record gone")
            continue
        email = str(origin.get("email") or "").lower()
        other = (cw_by_email if side == "hubspot" else hub_by_email).get(email)
        value = changes["firstname"]
        if str(origin.get("firstname") or "") != value or not other or str(other[0].get("firstname") or "") != value:
            lost += 1
            examples.append(
                f"{side} {record_id} {email}: wanted {value!r}, origin {origin.get('firstname')!r}, "
                f"other {other[0].get('firstname') if other else None!r}"
            )
    return lost, examples


def _check_calls(lab: labs.Lab, log: EditLog, hub_email_of: dict[str, str], cw_by_email) -> dict[str, Any]:
    """Every call logged is on both sides once, on the same person, and no call lacks a record."""
    if lab.system != "connectwise":
        return {"logged": 0, "lost": 0, "duplicates": 0, "misplaced": 0, "orphans": 0}
    hub_calls, hub_orphans = _hub_calls(lab)
    cw_calls = [a for a in lab.other.emulator.records("activities") if (a.get("type") or {}).get("name") == "Call"]
    on_hub = Counter(subject for subject, _ in hub_calls)
    on_cw = Counter(a.get("name") for a in cw_calls)
    return {
        "logged": len(log.calls),
        "lost": sum(1 for s in log.calls if on_hub[s] == 0 or on_cw[s] == 0),
        "duplicates": sum(n - 1 for n in on_hub.values() if n > 1) + sum(n - 1 for n in on_cw.values() if n > 1),
        "misplaced": _misplaced_calls(lab, hub_calls, cw_calls, hub_email_of, cw_by_email),
        "orphans": hub_orphans + sum(1 for a in cw_calls if not (a.get("contact") or a.get("company") or a.get("opportunity"))),
    }


def _hub_calls(lab: labs.Lab) -> tuple[list[tuple[str, str]], int]:
    """HubSpot's live calls as (subject, id), and how many have no association at all."""
    hub = lab.hubspot.emulator
    with hub.lock:
        calls = [
            (str(r.properties.get("hs_call_title") or ""), str(i)) for i, r in hub.records["calls"].items() if not r.archived
        ]
        return calls, len(orphans(hub, "calls"))


def _misplaced_calls(lab: labs.Lab, hub_calls, cw_calls, hub_email_of: dict[str, str], cw_by_email) -> int:
    """Calls whose ConnectWise twin is on another person than the HubSpot call (compared by e-mail)."""
    cw_email_of = {row["_id"]: email for email, rows in cw_by_email.items() for row in rows}
    twins = {}
    for activity in cw_calls:
        twins.setdefault(activity.get("name"), activity)
    misplaced = 0
    for subject, hub_id in hub_calls:
        twin = twins.get(subject)
        if twin is None:
            continue
        people = {hub_email_of.get(c) for c in lab.hubspot.emulator.associated_ids("calls", hub_id, "contacts")}
        misplaced += cw_email_of.get(str((twin.get("contact") or {}).get("id"))) not in people
    return misplaced
