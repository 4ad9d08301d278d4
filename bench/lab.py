"""The bench's world: vendor emulators on real ports (threads of this process) and one tenant
whose integration points at them, built through the same actions the wizard and demo use."""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from connectors.connectwise.emulator import ConnectWiseEmulator
from connectors.dynamics.emulator import DynamicsEmulator
from connectors.emulation import Emulator, RunningEmulator
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.models import Connection
from connectors.netsuite import DEFAULT_INTEGRATION_CONCURRENCY
from connectors.netsuite.emulator import NetSuiteEmulator
from connectors.salesforce.emulator import SalesforceEmulator
from mappings.demo import demo_connection
from mappings.models import Integration, ObjectMapping
from mappings.services import actions
from tenants.models import Tenant

# Vendor-realistic latency per call (the 100-250 ms), overridable with --latency-ms.
DEFAULT_LATENCY_MS = (100.0, 250.0)
# Objects a backfill moves: contacts with their companies (ConnectWise / Dynamics names).
BACKFILL_OBJECTS = {
    "connectwise": ("companies", "contacts"),
    "dynamics": ("accounts", "contacts"),
    "netsuite": ("customers", "contacts"),
    "salesforce": ("Account", "Contact"),
}
CONTACTS_PER_COMPANY = 5


@dataclass
class Lab:
    tenant: Tenant
    system: str
    hubspot: RunningEmulator
    other: RunningEmulator
    integration: Integration
    extra: list[RunningEmulator] = field(default_factory=list)

    @property
    def emulators(self) -> dict[str, Emulator]:
        return {"hubspot": self.hubspot.emulator, self.system: self.other.emulator}

    def set_knobs(self, **knobs: Any) -> None:
        for emulator in self.emulators.values():
            emulator.set_knobs(**knobs)

    def reset_counters(self) -> None:
        for emulator in self.emulators.values():
            emulator.reset_counters()

    def emulator_cpu_seconds(self) -> float:
        return sum(running.handler_cpu_seconds for running in (self.hubspot, self.other, *self.extra))

    def stop(self) -> None:
        for running in (self.hubspot, self.other, *self.extra):
            running.stop()


def make_emulator(
    system: str,
    *,
    latency_ms: tuple[float, float],
    limits: bool,
    faults: dict[str, float] | None = None,
    seed: int = 0,
    timeout_sleep: float = 35.0,
) -> Emulator:
    knobs = dict(latency_ms=latency_ms, limits=limits, faults=faults or {}, seed=seed, timeout_sleep=timeout_sleep)
    if system == "hubspot":
        # A portal id of its own: the client-side rate-limit buckets are keyed by portal, and a
        # bench must not share them with another bench or a demo on the same Redis.
        return HubSpotEmulator(portal_id=random.randint(10_000_000, 99_999_999), **knobs)
    if system == "connectwise":
        return ConnectWiseEmulator(**knobs)
    if system == "netsuite":
        # The account's concurrency limit is the integration's share (5), the bench's ceiling input.
        return NetSuiteEmulator(concurrency_limit=DEFAULT_INTEGRATION_CONCURRENCY, **knobs)
    if system == "salesforce":
        return SalesforceEmulator(sandbox=True, **knobs)  # the bench connection is a sandbox one, as the demo's
    return DynamicsEmulator(**knobs)


def build_lab(
    system: str = "connectwise",
    *,
    latency_ms: tuple[float, float] = DEFAULT_LATENCY_MS,
    limits: bool = True,
    objects: tuple[str, ...] | None = None,
    tenant_name: str = "",
    **emulator_knobs: Any,
) -> Lab:
    """Serve HubSpot and `system` on ephemeral ports and wire a fresh tenant's integration to them.
    `objects`: keep only the object mappings whose other-side object is listed (None keeps all)."""
    hubspot = make_emulator("hubspot", latency_ms=latency_ms, limits=limits, **emulator_knobs).serve()
    other = make_emulator(system, latency_ms=latency_ms, limits=limits, **emulator_knobs).serve()
    slug = f"bench-{uuid.uuid4().hex[:10]}"
    tenant = Tenant.objects.create(name=tenant_name or slug, slug=slug)
    hub_conn = demo_connection(tenant, "hubspot", hubspot.emulator, hubspot.base_url)
    other_conn = demo_connection(tenant, system, other.emulator, other.base_url)
    integration = actions.create_integration(
        tenant, None, hub_conn, other_conn, enabled=True, test_mode=False, name=f"Bench HubSpot ↔ {system}"
    )
    if objects is not None:
        keep_objects(integration, objects)
    return Lab(tenant, system, hubspot, other, integration)


def keep_objects(integration: Integration, objects: tuple[str, ...]) -> None:
    """Switch off the default object mappings a scenario does not measure (deals, leads...)."""
    for mapping in ObjectMapping.objects.filter(integration=integration):
        if mapping.other_object not in objects:
            mapping.delete()


# --- seeding: records as users would create them in the vendor's UI --------------------------------
_names = itertools.count(1)


def seed_other(lab: Lab, contacts: int, *, prefix: str = "bench") -> list[str]:
    """`contacts` contacts in the other system, CONTACTS_PER_COMPANY per company; returns contact ids."""
    emulator = lab.other.emulator
    run = next(_names)
    ids: list[str] = []
    company_id: Any = None
    for i in range(contacts):
        domain = f"{prefix}{run}c{i // CONTACTS_PER_COMPANY}.example.com"
        if i % CONTACTS_PER_COMPANY == 0:
            company_id = _add_company(lab.system, emulator, f"{prefix.title()} {run} Company {i // CONTACTS_PER_COMPANY}", domain)
        ids.append(_add_contact(lab.system, emulator, f"First{i}", f"Last{i}", f"person{i}@{domain}", company_id))
    return ids


def _add_company(system: str, emulator: Any, name: str, domain: str) -> Any:
    if system == "connectwise":
        return emulator.add_company(name, website=domain)["id"]
    if system == "netsuite":
        return emulator.add_customer(name, url=f"https://{domain}")["id"]
    if system == "salesforce":
        return emulator.create_record("Account", {"Name": name, "Website": domain})
    return emulator.create_record("accounts", {"name": name, "websiteurl": domain})


def _add_contact(system: str, emulator: Any, first: str, last: str, email: str, company_id: Any) -> str:
    if system == "connectwise":
        return str(emulator.add_contact(first, last, company_id=company_id, email=email)["id"])
    if system == "netsuite":
        return str(emulator.add_contact(first, last, email, company_id)["id"])
    if system == "salesforce":
        return emulator.create_record("Contact", {"FirstName": first, "LastName": last, "Email": email, "AccountId": company_id})
    return str(
        emulator.create_record(
            "contacts", {"firstname": first, "lastname": last, "emailaddress1": email, "parentcustomerid": company_id}
        )
    )


def seed_hubspot(lab: Lab, contacts: int, *, prefix: str = "hub") -> list[str]:
    emulator = lab.hubspot.emulator
    run = next(_names)
    ids: list[str] = []
    company_id: Any = None
    for i in range(contacts):
        domain = f"{prefix}{run}c{i // CONTACTS_PER_COMPANY}.example.com"
        if i % CONTACTS_PER_COMPANY == 0:
            company_id = emulator.create_record(
                "companies", {"name": f"{prefix.title()} {run} Company {i // CONTACTS_PER_COMPANY}", "domain": domain}
            )
        ids.append(
            str(
                emulator.create_record(
                    "contacts",
                    {"email": f"person{i}@{domain}", "firstname": f"First{i}", "lastname": f"Last{i}"},
                    associations={"companies": [company_id]},
                )
            )
        )
    return ids


def connection_of(lab: Lab, side: str) -> Connection:
    return lab.integration.hubspot_connection if side == "hubspot" else lab.integration.other_connection
