"""HubSpot runs the shared connector contract suite, in-process and on a real port."""

from tests.connectors.contract import ConnectorContract
from tests.connectors.hubspot_harness import HubSpotHarness


class TestHubSpotContract(ConnectorContract):
    harness_class = HubSpotHarness
