"""Each system's credential form (connectors/<system>/forms.py) used by the installer and the
go-live switch, and the live "Test connection" through connectors.actions.test_connection."""

from __future__ import annotations

from typing import Any

from connectors.base import ConnectionTest
from connectors.models import Connection
from connectors.registry import system
from tenants.actions import audit


def credential_form(system_key: str, *, data=None, connection: Connection | None = None):
    """The system's form, bound to `data` or filled with the connection's non-secret config."""
    form_class = system(system_key).credential_form_class
    return form_class(data=data, connection=connection)


def split_credential_form(form) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, credentials) from a valid credential form: non-secret settings and secrets."""
    return form.config(), form.credentials()


def build_credential_form(progress, *, data=None):
    return credential_form(progress.answers["system"], data=data, connection=progress.other_connection)


def run_connection_test(progress_or_tenant, actor, connection: Connection) -> ConnectionTest:
    """Call the vendor now; the connection records success or failure (status, message)."""
    from connectors.actions import test_connection

    result = test_connection(connection)
    tenant = connection.tenant
    audit(tenant, actor, "connection.tested", connection,
          summary=f"{connection} test: {'OK' if result.ok else 'failed — ' + result.message}"[:500], ok=result.ok)
    return result
