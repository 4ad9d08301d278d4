"""The embedded demo: a tenant, its owner, and connections to the built-in emulators."""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction

from connectors.registry import SYSTEMS
from mappings import demo as mappings_demo
from tenants.actions import audit
from tenants.models import Membership, Tenant

DEMO_TENANT = "Demo Company"
EMULATOR_ORDER = ("hubspot", "connectwise", "dynamics", "salesforce", "netsuite")


@transaction.atomic
def ensure_demo_tenant(email: str, password: str):
    User = get_user_model()
    owner, _ = User.objects.get_or_create(username=email, defaults={"email": email})
    owner.email = email
    owner.is_staff = owner.is_superuser = True  # the demo owner also opens the staff console
    owner.set_password(password)
    owner.save()
    tenant, created = Tenant.objects.get_or_create(slug="demo", defaults={"name": DEMO_TENANT, "hubspot_portal_id": "62515"})
    Membership.objects.get_or_create(user=owner, tenant=tenant, defaults={"role": Membership.Role.OWNER})
    if created:
        audit(tenant, owner, "tenant.created", tenant, summary="demo tenant created")
    return owner, tenant


def start_emulators(port_base: int, seed_size: int) -> list:
    """Start every emulator that exists on consecutive ports (0: any free ports)."""
    running = []
    for offset, key in enumerate(EMULATOR_ORDER):
        try:
            cls = SYSTEMS[key].emulator_class
        except (ImportError, AttributeError, LookupError):
            continue
        emulator = cls.demo(seed_size=seed_size) if hasattr(cls, "demo") else _seeded(cls, seed_size)
        running.append(emulator.serve("127.0.0.1", port_base + offset if port_base else 0))
    return running


def _seeded(cls, seed_size: int):
    """An emulator without demo(): seed it through its constructor when it takes seed_size."""
    if "seed_size" in inspect.signature(cls).parameters:
        return cls(seed_size=seed_size)
    return cls()


def connect_demo_tenant(tenant: Tenant, emulators: Iterable, site_url: str) -> list[str]:
    """Point the demo tenant's connections and integrations at the running emulators."""
    return mappings_demo.connect(tenant, list(emulators), site_url)
