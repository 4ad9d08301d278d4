"""Each system's credential form (connectors/<system>/forms.py) used by the installer and the
go-live switch, and the live "Test connection" through tenants.connections.test_connection."""

from __future__ import annotations

from typing import Any

from connectors.base import ConnectionTest
from connectors.models import Connection
from connectors.registry import system
from tenants.connections import test_connection


def credential_form(system_key: str, *, data=None, connection: Connection | None = None, environment: str = ""):
    """The system's form, bound to `data` or filled with the connection's non-secret config.
    `environment`: the account the customer means to connect (a form may check it, e.g. NetSuite's _SB1)."""
    form_class = system(system_key).credential_form_class
    return form_class(data=data, connection=connection, environment=environment)


def split_credential_form(form) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, credentials) from a valid credential form: non-secret settings and secrets."""
    return form.get_config(), form.get_credentials()


def build_credential_form(progress, *, data=None):
    return credential_form(
        progress.answers["system"],
        data=data,
        connection=progress.other_connection,
        environment=progress.answers.get("environment", ""),
    )


def run_connection_test(actor, connection: Connection) -> ConnectionTest:
    """Call the vendor now; the connection records success or failure and the test is audited."""
    result = test_connection(connection, actor)
    connection.refresh_from_db()
    return result
