"""A preview's dry connector passes calls that stay in this process (the engine sharing cached
field lists) through to the real connector without counting them as vendor calls; any other
unknown call is still refused."""

import pytest

from connectors.base import ConnectorError
from connectors.dry_run import DryConnector


class _Real:
    system = "hubspot"

    def use_shared_metadata(self, identity: str, version: str) -> None:
        self.shared_metadata_key = (identity, version)

    def write_records(self, *args, **kwargs):  # pragma: no cover - must never be reached
        raise AssertionError("a preview wrote")


def test_sharing_metadata_reaches_the_real_connector_and_is_not_a_vendor_call():
    real = _Real()
    dry = DryConnector(real)
    dry.use_shared_metadata("conn:1", "v1")
    assert real.shared_metadata_key == ("conn:1", "v1") and dry.vendor_calls == 0


def test_other_unknown_calls_are_still_refused():
    with pytest.raises(ConnectorError, match="A preview does not call archive_records"):
        getattr(DryConnector(_Real()), "archive_records")  # noqa: B009 - the attribute access is the test
