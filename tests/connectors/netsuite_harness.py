"""Building NetSuite connectors against the emulator, for the connector tests."""

from __future__ import annotations

from typing import Any

from connectors.http import default_retry
from connectors.netsuite.auth import TBAAuth
from connectors.netsuite.connector import NetSuiteConnector
from connectors.netsuite.emulator import (
    DEMO_ACCOUNT,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_TOKEN_ID,
    DEMO_TOKEN_SECRET,
)

FAST_RETRY = default_retry(total=8, backoff_factor=0.01, max_backoff_wait=0.05)
WEBHOOK_SECRET = "script-secret-for-tests"


def tba(token_secret: str = DEMO_TOKEN_SECRET, account: str = DEMO_ACCOUNT) -> TBAAuth:
    return TBAAuth(account, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, DEMO_TOKEN_ID, token_secret)


def netsuite_connector(base_url: str, transport: Any, token_secret: str = DEMO_TOKEN_SECRET, **kwargs: Any) -> NetSuiteConnector:
    kwargs.setdefault("retry", FAST_RETRY)
    return NetSuiteConnector(
        account_id=DEMO_ACCOUNT,
        base_url=base_url,
        auth=tba(token_secret),
        transport=transport,
        default_subsidiary="1",
        webhook_secret=WEBHOOK_SECRET,
        **kwargs,
    )
