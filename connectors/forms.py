"""The base of every system's credential form.

Non-secret values go to `Connection.config`, secrets to its encrypted `credentials`. The secret
field is write-only: never rendered back; left blank on edit, the stored one is kept.

    form = SomeCredentialsForm(request.POST, connection=existing_or_None)
    if form.is_valid():
        result = form.test_connection()   # ConnectionTest with a message saying what to fix
        form.apply_to(connection)         # config + credentials (the caller saves)
"""

from __future__ import annotations

from typing import Any

from django import forms

from connectors.base import ConnectionTest, Connector, ConnectorError

SAVED_SECRET_PLACEHOLDER = "•••••••• (saved; leave blank to keep)"


class CredentialsForm(forms.Form):
    initial_from_config: tuple[str, ...] = ()  # fields pre-filled from the connection's config
    secret_field: str = ""  # the write-only field; the same key in Connection.credentials

    def __init__(self, *args: Any, connection: Any = None, environment: str = "", **kwargs: Any):
        self.connection = connection
        # "sandbox" / "production" when the caller knows which account is wanted (installer, go-live).
        self.environment = environment or str(getattr(connection, "environment", "") or "")
        config = dict(getattr(connection, "config", None) or {})
        if connection is not None and "initial" not in kwargs:
            kwargs["initial"] = {k: config.get(k, "") for k in self.initial_from_config}
        super().__init__(*args, **kwargs)
        if self.stored_secret():
            self.fields[self.secret_field].widget.attrs["placeholder"] = SAVED_SECRET_PLACEHOLDER

    def stored_secret(self) -> str:
        credentials = getattr(self.connection, "credentials", None) or {}
        return str(credentials.get(self.secret_field) or "")

    def entered_secret(self, missing_message: str) -> str:
        """The typed secret, or "" to keep the stored one; an error when there is neither."""
        value = self.cleaned_data.get(self.secret_field, "")
        if not value and not self.stored_secret():
            raise forms.ValidationError(missing_message)
        return value

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def get_credentials(self) -> dict[str, Any]:
        return {self.secret_field: self.cleaned_data.get(self.secret_field) or self.stored_secret()}

    def apply_to(self, connection: Any) -> Any:
        """Set config and credentials on `connection` (the caller saves it)."""
        connection.config = {**(connection.config or {}), **self.get_config()}
        connection.credentials = self.get_credentials()
        return connection

    def connector(self, **kwargs: Any) -> Connector:
        raise NotImplementedError

    def test_connection(self, **connector_kwargs: Any) -> ConnectionTest:
        """Call the vendor with the entered values; the message says what to fix."""
        try:
            connector = self.connector(**connector_kwargs)
        except ConnectorError as error:
            return ConnectionTest(False, error.message)
        try:
            return connector.test_connection()
        finally:
            connector.close()
