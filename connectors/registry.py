"""The one table of systems SyncSmart connects. Model choices, forms, emulators and the
engine all derive from it; a new system is one row here plus its sub-package."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.emulation import Emulator


@dataclass(frozen=True)
class System:
    key: str
    label: str
    connector: str  # "module:Class"
    emulator: str | None = None
    credential_form: str | None = None
    is_hub: bool = False  # HubSpot: one side of every integration
    budget: str | None = None  # "module:NAME" of its daily API budget policy (connectors/quota.py)

    def load(self, dotted: str) -> Any:
        module, _, name = dotted.partition(":")
        return getattr(import_module(module), name)

    @property
    def connector_class(self) -> type[Connector]:
        return self.load(self.connector)

    @property
    def emulator_class(self) -> type[Emulator]:
        if not self.emulator:
            raise LookupError(f"{self.label} has no emulator")
        return self.load(self.emulator)

    @property
    def credential_form_class(self):
        return self.load(self.credential_form) if self.credential_form else None

    @property
    def budget_policy(self):
        """The connector's daily budget policy (a connectors.quota.BudgetPolicy), or None."""
        return self.load(self.budget) if self.budget else None


SYSTEMS: dict[str, System] = {
    s.key: s
    for s in [
        System(
            "hubspot",
            "HubSpot",
            "connectors.hubspot.connector:HubSpotConnector",
            "connectors.hubspot.emulator:HubSpotEmulator",
            "connectors.hubspot.forms:HubSpotCredentialsForm",
            is_hub=True,
            budget="connectors.hubspot.budget:POLICY",
        ),
        System(
            "connectwise",
            "ConnectWise Manage",
            "connectors.connectwise.connector:ConnectWiseConnector",
            "connectors.connectwise.emulator:ConnectWiseEmulator",
            "connectors.connectwise.forms:ConnectWiseCredentialsForm",
            budget="connectors.connectwise.budget:POLICY",
        ),
        System(
            "dynamics",
            "Microsoft Dynamics 365",
            "connectors.dynamics.connector:DynamicsConnector",
            "connectors.dynamics.emulator:DynamicsEmulator",
            "connectors.dynamics.forms:DynamicsCredentialsForm",
            budget="connectors.dynamics.budget:POLICY",
        ),
        System(
            "salesforce",
            "Salesforce",
            "connectors.salesforce.connector:SalesforceConnector",
            "connectors.salesforce.emulator:SalesforceEmulator",
            "connectors.salesforce.forms:SalesforceCredentialsForm",
            budget="connectors.salesforce.budget:POLICY",
        ),
        System(
            "netsuite",
            "NetSuite",
            "connectors.netsuite.connector:NetSuiteConnector",
            "connectors.netsuite.emulator:NetSuiteEmulator",
            "connectors.netsuite.forms:NetSuiteCredentialsForm",
            budget="connectors.netsuite.budget:POLICY",
        ),
    ]
}

SYSTEM_CHOICES = [(s.key, s.label) for s in SYSTEMS.values()]
OTHER_SYSTEM_CHOICES = [(s.key, s.label) for s in SYSTEMS.values() if not s.is_hub]


def system(key: str) -> System:
    try:
        return SYSTEMS[key]
    except KeyError:
        raise LookupError(f"Unknown system {key!r}") from None
