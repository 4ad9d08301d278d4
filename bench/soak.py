"""The fault soak: a bidirectional HubSpot ↔ ConnectWise (or Dynamics 365, Salesforce, NetSuite) sync
under injected 429s, 5xx and timeouts, while the q2 worker is SIGKILLed at random moments and
restarted and both sides keep receiving edits; then a record-by-record check (bench/soak_checks.py)
that nothing was lost or duplicated and that one more run writes nothing.

The users' edits: first names of contacts that originate on their side, and now and then a new
contact. With ConnectWise and Dynamics they also:
- log calls on contacts on both sides (HubSpot calls ↔ ConnectWise activities of type Call /
  Dynamics phone calls): each must arrive once on the other side, on the right contact, and no call
  may be left without a record (orphans);
- delete contacts on either side, under the delete policies the soak gives the contacts mapping
  (HubSpot → archive on the other side, the other side → delete in HubSpot);
- merge two linked HubSpot contacts of one company (one link must be left, to the survivor, and no
  duplicate on the other side);
- move a contact to another company, in either system, with no property changed (the other side's
  association must follow). HubSpot tells such a move only through its associationChange webhook,
  so with these two pairs the product registers its webhooks, as it does on go-live: the Django app
  serves the webhook endpoints on a real port in this process.

The runs execute where production runs them: in a `manage.py qcluster` child process, sharing a
throw-away database with this driver. The driver plays the scheduler (it asks for a run every
couple of seconds, as the per-integration schedule would, and calls the same sweep the q2
schedule calls, more often), the person who confirms deletions held by the mass-deletion guard, and
the users editing both systems.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import OperationalError, close_old_connections, connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from bench import lab as labs
from bench import soak_checks as checks
from bench.database import child_environment
from bench.runs import sync_here
from bench.scenarios import write_calls
from bench.services import Worker, serve_site
from bench.soak_checks import EditLog
from mappings.services.deletions import confirm_held_deletions
from syncsmart.engine import queue, run_requests, tasks, webhook_registration
from syncsmart.models import DeferredRecord, PendingDeletion, RecordLink, RunLease, SyncRun

__all__ = ["DEFAULT_FAULTS", "LEASE_SECONDS", "EditLog", "SoakOptions", "soak"]

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
# Linked ids are reconciled against each side this often (production: 60): the safety net for a
# deletion whose webhook was missed is exercised within the soak.
RECONCILE_MINUTES = 1

# The longest the users edit (seconds): records / this, at least the minimum.
EDIT_WINDOW_RECORDS_PER_S = 25
EDIT_WINDOW_MIN_S = 30

# Activities among the edits: HubSpot calls <-> ConnectWise activities of type Call / Dynamics phone calls.
SOAK_ACTIVITIES = {"connectwise": ("call_activities",), "dynamics": ("phonecalls",)}
# Pairs whose users also delete, merge and re-associate contacts (issue 18), with webhooks registered.
LIFECYCLE_SYSTEMS = ("connectwise", "dynamics")
SYSTEMS = ("connectwise", "dynamics", "salesforce", "netsuite")


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
    system: str = "connectwise"  # one of SYSTEMS


class Pools:
    """Which seeded contacts each kind of edit may touch, so that no two kinds meet on one record
    (a call is never on a contact that is deleted or merged away, which would orphan it; a merged
    pair is never moved apart). By position in a company's block of CONTACTS_PER_COMPANY:
    0 is moved between companies, 2 gets calls, 1 and 3 (HubSpot) are merged into each other,
    4 (HubSpot) and 1, 3, 4 (the other system) are deleted. First names are edited on all of them."""

    def __init__(self, ids: dict[str, list[str]], companies: dict[str, list[tuple[str, str]]], rng: random.Random):
        def at(side: str, *positions: int) -> list[str]:
            return [i for n, i in enumerate(ids[side]) if n % labs.CONTACTS_PER_COMPANY in positions]

        self.moves = {side: at(side, 0) for side in ids}
        self.calls = {side: at(side, 2) for side in ids}
        self.deletes = {"hubspot": at("hubspot", 4), "other": at("other", 1, 3, 4)}
        hub = ids["hubspot"]
        self.merges = [(hub[n], hub[n + 2]) for n in range(1, len(hub) - 2, labs.CONTACTS_PER_COMPANY)]
        rng.shuffle(self.merges)
        self.companies = companies


class Editors(threading.Thread):
    """Users of both systems: edit first names of contacts that originate on their side (so no two
    edits conflict and every accepted change has one right final value), now and then create a new
    contact, log a call, delete a contact, merge two (HubSpot) or move one to another company."""

    def __init__(self, lab: labs.Lab, log: EditLog, hub_ids: list[str], cw_ids: list[str], rate: float, seed: int):
        super().__init__(daemon=True, name="soak-editors")
        self.lab, self.log, self.rate = lab, log, rate
        self.ids = {"hubspot": list(hub_ids), "other": list(cw_ids)}
        self.rng = random.Random(seed)
        self.pools = Pools(self.ids, _origin_companies(lab), self.rng)
        self.lifecycle = lab.system in LIFECYCLE_SYSTEMS
        self.stop_event = threading.Event()
        self.n = 0

    def run(self) -> None:
        try:
            while not self.stop_event.wait(1.0 / self.rate):
                self.n += 1
                try:
                    self._one(self.n)
                except OperationalError:  # a link look-up found SQLite busy: this user skips a turn
                    continue
        finally:
            connection.close()  # this thread's database connection (link look-ups)

    def _one(self, n: int) -> None:
        side = "hubspot" if n % 2 else "other"
        turn = "hubspot" if (n // 20) % 2 else "other"  # the lifecycle kinds alternate sides
        if n % 10 == 0:
            self._create(("hubspot" if (n // 10) % 2 else "other") if self.lifecycle else side)
        elif n % 5 == 0 and self.lab.system in SOAK_ACTIVITIES:
            # n is odd here, so `side` would always be HubSpot: calls alternate by their own count
            self._log_call("hubspot" if (n // 5) % 4 == 1 else "other")
        elif self.lifecycle and n % 20 == 3:
            self._user_delete(turn)
        elif self.lifecycle and n % 20 == 7:
            self._user_move(turn)
        elif self.lifecycle and n % 40 == 11:
            self._user_merge()
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
        elif self.lab.system == "dynamics":
            self.lab.other.emulator.edit_record("contacts", record_id, {"firstname": value})
        else:
            self.lab.other.emulator.edit("contacts", int(record_id), {"firstName": value})
        self.log.accept(side, record_id, {"firstname": value})

    def _log_call(self, side: str) -> None:
        """A call logged on a seeded contact (a contact created during the soak may still be on its way)."""
        contact = self.rng.choice(self.pools.calls[side])
        subject = f"Soak call {self.n}"
        if side == "hubspot":
            self.lab.hubspot.emulator.create_record(
                "calls", {"hs_call_title": subject, "hs_timestamp": _now_iso()}, associations={"contacts": [contact]}
            )
        elif self.lab.system == "dynamics":
            self.lab.other.emulator.create_record(
                "phonecalls", {"subject": subject, "regardingobjectid": contact, "actualend": _now_iso()}
            )
        else:
            self.lab.other.emulator.add_activity(subject, type="Call", contact_id=int(contact), dateStart=_now_iso())
        with self.log.lock:
            self.log.calls[subject] = (side, contact)

    def _create(self, side: str) -> None:
        email = f"new{self.n}@soak-new-{side}.example.com"
        if side == "hubspot":
            company = self.rng.choice(self.pools.companies["hubspot"])[0]
            record_id = self.lab.hubspot.emulator.create_record(
                "contacts",
                {"email": email, "firstname": f"New{self.n}", "lastname": "Soak"},
                associations={"companies": [company]},
            )
        else:
            record_id = _create_other(self.lab, self.n, email)
        with self.log.lock:
            self.log.creates += 1
        self.ids[side].append(record_id)
        self.log.accept(side, record_id, {"firstname": f"New{self.n}"})

    # --- the record lifecycle (issue 18) ------------------------------------------------------------------
    def _user_delete(self, side: str) -> None:
        pool = self.pools.deletes[side]
        if not pool:
            return self._edit(side)
        # A linked contact when one of a few tried is (a deletion must travel), else any.
        tried = [self.rng.randrange(len(pool)) for _ in range(5)]
        record_id = pool.pop(next((n for n in tried if _linked(self.lab, side, pool[n])), tried[0]))
        email, linked = _email_of(self.lab, side, record_id), _linked(self.lab, side, record_id)
        if side == "hubspot":
            self.lab.hubspot.emulator.delete_record("contacts", record_id)
        elif self.lab.system == "dynamics":
            self.lab.other.emulator.delete_record("contacts", record_id)
        else:
            self.lab.other.emulator.delete("contacts", int(record_id))
        self.ids[side].remove(record_id)
        self.log.forget(side, record_id)
        with self.log.lock:
            self.log.deletions.append(checks.Deletion(side, record_id, email, linked))
        return None

    def _user_move(self, side: str) -> None:
        """The contact moves to another company of its side; none of its properties changes."""
        record_id = self.rng.choice(self.pools.moves[side])
        company, domain = self.rng.choice(self.pools.companies[side])
        if side == "hubspot":
            self.lab.hubspot.emulator.lifecycle.reassociate("contacts", record_id, "companies", company)
        elif self.lab.system == "dynamics":
            self.lab.other.emulator.edit_record("contacts", record_id, {"parentcustomerid": company})
        else:
            self.lab.other.emulator.edit("contacts", int(record_id), {"company": {"id": int(company)}})
        self.log.accept(side, record_id, {"company": domain})
        with self.log.lock:
            self.log.reassociations += 1

    def _user_merge(self) -> None:
        """Two linked HubSpot contacts of one company merged; the survivor keeps being edited."""
        tried = self.pools.merges[:5]  # (a few: a link look-up each; the pairs are in random order)
        ready = next((pair for pair in tried if all(_linked(self.lab, "hubspot", i) for i in pair)), None)
        if ready is None:  # none linked yet (the backfill is on its way)
            return self._edit("hubspot")
        self.pools.merges.remove(ready)
        survivor, merged = ready
        emails = [_email_of(self.lab, "hubspot", i) for i in ready]
        self.lab.hubspot.emulator.lifecycle.merge_records("contacts", survivor, merged)
        self.ids["hubspot"].remove(merged)
        self.log.forget("hubspot", merged)
        with self.log.lock:
            self.log.merges.append(checks.Merge(survivor, merged, *emails))
        return None

    def stop(self) -> None:
        self.stop_event.set()
        self.join()


def _create_other(lab: labs.Lab, n: int, email: str) -> str:
    emulator = lab.other.emulator
    if lab.system == "salesforce":
        company = next(iter(emulator.rows["Account"]))
        return emulator.create_record(
            "Contact", {"FirstName": f"New{n}", "LastName": "Soak", "Email": email, "AccountId": company}
        )
    if lab.system == "netsuite":
        company = next(r["id"] for r in emulator.all("customer") if not r.get("isPerson"))
        return str(emulator.add_contact(f"New{n}", "Soak", email, company)["id"])
    if lab.system == "dynamics":
        company = next(iter(emulator.rows["account"]))
        return emulator.create_record(
            "contacts", {"firstname": f"New{n}", "lastname": "Soak", "emailaddress1": email, "parentcustomerid": company}
        )
    company = next(iter(emulator.store["companies"]))
    return str(emulator.add_contact(f"New{n}", "Soak", company_id=company, email=email)["id"])


def _origin_companies(lab: labs.Lab) -> dict[str, list[tuple[str, str]]]:
    """(id, domain) of the companies seeded on each side (called before anything is synced)."""
    hub = lab.hubspot.emulator
    with hub.lock:
        ours = [(str(r.id), str(r.properties.get("domain") or "").lower()) for r in hub.records["companies"].values()]
    if lab.system not in LIFECYCLE_SYSTEMS:
        return {"hubspot": ours, "other": []}
    theirs = [(str(r["id"]), str(r.get("website") or "").lower()) for r in checks._other_companies(lab)]
    return {"hubspot": ours, "other": theirs}


def _email_of(lab: labs.Lab, side: str, record_id: str) -> str:
    if side == "hubspot":
        return str((lab.hubspot.emulator.get_record("contacts", record_id) or {}).get("email") or "").lower()
    return checks.other_contact_email(lab, record_id)


def _linked(lab: labs.Lab, side: str, record_id: str) -> bool:
    ids = {"hubspot_id" if side == "hubspot" else "other_id": str(record_id)}
    return RecordLink.objects.filter(integration=lab.integration, hubspot_object="contacts", **ids).exists()


def soak(options: SoakOptions, database: dict, workdir: Path, say=print) -> dict[str, Any]:
    queue.STALE_QUEUED_SECONDS = STALE_QUEUED_SECONDS
    logging.getLogger("django-q").setLevel(logging.WARNING)  # not a line per webhook-enqueued run
    lifecycle = options.system in LIFECYCLE_SYSTEMS
    site = serve_site() if lifecycle else None
    engine = {"SYNC_LEASE_SECONDS": options.lease_seconds, "SYNC_SLICE_SECONDS": SLICE_SECONDS}
    engine |= {"SYNC_RECONCILE_MINUTES": RECONCILE_MINUTES, "SITE_URL": site.base_url} if site else {}
    # The driver's sweep agrees with the workers (override_settings makes the engine read them again).
    override_settings(**engine).enable()
    lab = labs.build_lab(
        options.system,
        latency_ms=options.latency_ms,
        limits=False,
        objects=labs.BACKFILL_OBJECTS[options.system] + SOAK_ACTIVITIES.get(options.system, ()),
        seed=options.seed,
        timeout_sleep=TIMEOUT_SLEEP_S,
    )
    env = child_environment(database) | {k: str(v) for k, v in engine.items()} | {"Q_TIMEOUT": "120"}
    worker = Worker(env, log_path=str(workdir / "soak-qcluster.log"))
    rng = random.Random(options.seed)
    started = time.monotonic()
    try:
        half = max(1, options.records // 2)
        cw_ids = labs.seed_other(lab, half, prefix="cw")
        hub_ids = labs.seed_hubspot(lab, options.records - half, prefix="hub")
        say(f"soak: seeded {half} {options.system} and {options.records - half} HubSpot contacts (+ companies)")
        registered = _lifecycle_setup(lab) if lifecycle else {}
        lab.set_knobs(faults=options.faults)
        log = EditLog()
        editors = Editors(lab, log, hub_ids, cw_ids, options.edits_per_second, options.seed)
        worker.start()
        editors.start()
        confirmed = _drive(lab, options, worker, editors, log, rng, started, say)
        if editors.is_alive():
            editors.stop()
        worker.stop()
        _finish_active_runs(lab)
        lab.set_knobs(faults={})
        result = _verify(lab, log, options, worker.kills, time.monotonic() - started, say)
        result["lifecycle"] |= {"deletions_held_then_confirmed": confirmed, "webhooks": registered}
        return result
    finally:
        worker.stop()
        lab.stop()
        if site is not None:
            site.stop()


def _lifecycle_setup(lab: labs.Lab) -> dict[str, str]:
    """The contacts mapping's delete policies, and the product's own webhooks on both emulators."""
    mapping = lab.integration.object_mappings.get(hubspot_object="contacts", other_object="contacts")
    mapping.delete_to_other, mapping.delete_to_hubspot = checks.DELETE_TO_OTHER, checks.DELETE_TO_HUBSPOT
    mapping.save()
    return {r.side: r.state for r in webhook_registration.register(lab.integration, "soak")}


def _drive(lab, options: SoakOptions, worker: Worker, editors: Editors, log: EditLog, rng, started: float, say) -> int:
    """Schedule runs, kill the worker, stop the editors once the backlog is through, and wait until
    two runs started after the last edit wrote nothing. Returns the deletions a person confirmed."""
    kill_times = _kill_schedule(options, rng)
    # Users stop editing once a run has gone through the backlog, or at the latest after this long:
    # with webhooks on, a stream of notifications is worked first in every slice, and a scheduled
    # run may not reach its end while it lasts (docs/benchmarks.md, the lifecycle soak).
    window = max(EDIT_WINDOW_MIN_S, options.records / EDIT_WINDOW_RECORDS_PER_S)
    deadline = started + options.max_minutes * 60
    stopped_at = None
    quiet_runs: set = set()
    confirmed = 0
    while time.monotonic() < deadline:
        if kill_times and time.monotonic() - started >= kill_times[0]:
            kill_times.pop(0)
            worker.kill()
            say(f"soak: worker SIGKILLed ({worker.kills}) at {time.monotonic() - started:.0f}s, restarting")
            worker.start()
        try:
            _schedule_and_sweep(lab)
            confirmed += _confirm_held(lab)
            if not kill_times and editors.is_alive() and _edits_done(lab, log, time.monotonic() - started, window):
                editors.stop()  # kills done and the backlog synced once (or the window over): stop editing, converge
                stopped_at = timezone.now()
                say(f"soak: edits stopped after {log.edits} edits ({log.creates} creates) at {time.monotonic() - started:.0f}s")
            if stopped_at is not None and _converged(lab, stopped_at, quiet_runs):
                return confirmed
        except OperationalError as exc:  # the database busy under load (SQLite locked, PostgreSQL full): a tick skipped
            say(f"soak: driver tick skipped: {exc}")
        time.sleep(1.0)
    say("soak: time limit reached before convergence")
    return confirmed


def _converged(lab: labs.Lab, stopped_at, quiet_runs: set) -> bool:
    """Two distinct scheduled runs, both started after the last edit, wrote nothing (`quiet_runs`
    collects them across ticks and is emptied by a busy one)."""
    if _caught_up(lab):  # (not before: a record waiting for a parent the backfill brings would give up)
        _deferred_due_now(lab)
    quiet = _quiet_run_since(lab, stopped_at)
    if quiet is None:
        quiet_runs.clear()
    else:
        quiet_runs.add(quiet)
    return len(quiet_runs) >= 2


def _edits_done(lab: labs.Lab, log: EditLog, elapsed: float, window: float) -> bool:
    """A run has gone through the backlog, or the window is over; with the lifecycle kinds, not
    before each has met a linked record (a merge, a linked deletion on each side)."""
    if not (_caught_up(lab) or elapsed >= window):
        return False
    if lab.system not in LIFECYCLE_SYSTEMS:
        return True
    with log.lock:
        linked_deletions = {d.side for d in log.deletions if d.linked}
        return bool(log.merges) and linked_deletions == {"hubspot", "other"}


def _confirm_held(lab: labs.Lab) -> int:
    """The person on the integration page: deletions the mass-deletion guard held are confirmed
    (every deletion in the soak is one a user made)."""
    if not PendingDeletion.objects.filter(integration=lab.integration, status=PendingDeletion.Status.HELD).exists():
        return 0
    with transaction.atomic():
        return confirm_held_deletions(lab.integration, None)


def _verify(lab: labs.Lab, log: EditLog, options: SoakOptions, kills: int, elapsed: float, say) -> dict[str, Any]:
    snap = checks.snapshot(lab)
    one_sided = checks.one_sided(snap, log)
    lost_edits, lost_examples = checks.lost_edits(snap, log)
    mismatched, unequal_companies = checks.mismatched(snap)
    calls = checks.check_calls(lab, log, snap)
    deletes = checks.deletion_errors(lab, snap, log)
    merges = checks.merge_errors(lab, snap, log)
    injected = Counter()
    for emulator in lab.emulators.values():
        injected.update(emulator.counters()["faults"])
    lab.reset_counters()
    rerun = sync_here(lab.integration)
    rerun_writes = write_calls(lab.hubspot.emulator) + write_calls(lab.other.emulator)
    contacts = len(set(snap.hub.by_email()) | set(snap.other.by_email()))
    companies = len(set(snap.hub_companies) | set(snap.other_companies))
    result = {
        "records": contacts + companies,
        "contacts": contacts,
        "companies": companies,
        "lost": sum(lost_edits.values()) + len(one_sided) + calls["lost"],
        "lost_edits": sum(lost_edits.values()),
        "lost_by_field": dict(lost_edits),
        "missing_on_one_side": len(one_sided),
        "duplicates": checks.duplicates(snap) + calls["duplicates"],
        "mismatched": mismatched + calls["misplaced"],
        "associations_unequal": unequal_companies,
        "orphans": calls["orphans"],
        "deletes_not_propagated": len(deletes),
        "merge_errors": len(merges),
        "activities": calls,
        "lifecycle": {
            "deletions": dict(Counter(d.side for d in log.deletions)),
            "deletions_linked_when_made": sum(d.linked for d in log.deletions),
            "merges": len(log.merges),
            "reassociations": log.reassociations,
            "reassociations_not_followed": lost_edits["company"],
            "policies": {"hubspot_to_other": checks.DELETE_TO_OTHER, "other_to_hubspot": checks.DELETE_TO_HUBSPOT},
        },
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
        "examples": {
            "missing_on_one_side": one_sided[:10],
            "duplicates": checks.duplicate_examples(snap),
            "lost_edits": lost_examples[:10],
            "deletes_not_propagated": deletes[:10],
            "merge_errors": merges[:10],
            "rerun_counts": rerun.counts,
        },
    }
    say(f"soak: {result}")
    return result


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
    """The initial backfill has gone through: a scheduled run (a full pass over both sides' changes)
    succeeded. A webhook run succeeds as soon as its notifications are worked, so it does not count."""
    return _scheduled(lab).filter(status=SyncRun.Status.SUCCEEDED).exists()


def _scheduled(lab: labs.Lab):
    return SyncRun.objects.filter(integration=lab.integration, trigger=SyncRun.Trigger.SCHEDULE)


def _quiet_run_since(lab: labs.Lab, since) -> Any:
    """The id of the latest finished scheduled run if it started after `since` and changed nothing, else None."""
    last = _scheduled(lab).filter(status__in=SyncRun.FINISHED).order_by("-finished_at").first()
    if last is None or last.status != SyncRun.Status.SUCCEEDED or last.started_at is None or last.started_at <= since:
        return None
    busy = {
        k: v
        for k, v in (last.counts or {}).items()
        if v and (k.startswith("writes") or k in ("created", "updated", "deferred", "failed"))
    }
    deleting = PendingDeletion.objects.filter(integration=lab.integration, status__in=PendingDeletion.OPEN).exists()
    return None if busy or deleting or _deferred_waiting(lab).exists() else last.pk


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
