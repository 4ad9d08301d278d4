"""Salesforce plugged into the shared connector contract suite (in-process and on a real port)."""

from __future__ import annotations

from tests.connectors.contract import ConnectorContract
from tests.connectors.salesforce_harness import SalesforceHarness


class TestSalesforceContract(ConnectorContract):
    harness_class = SalesforceHarness
