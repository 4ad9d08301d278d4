"""Encrypted model fields. See `syncsmart.core.crypto` for the format.

The model must have a primary key that is known before the first save (a UUID default), since
the row's identity is part of the associated data. Values are decrypted lazily on attribute
access, so loading a row never fails because of one bad secret, and the error names the row.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from syncsmart.core import crypto


class _Stored(str):
    """A ciphertext read from the database, not yet decrypted."""


def associated_data(instance: models.Model, field_name: str) -> str:
    return f"{instance._meta.label_lower}:{instance.pk}:{field_name}"


class _EncryptedDescriptor:
    def __init__(self, field: EncryptedTextField):
        self.field = field

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, _Stored):
            try:
                plaintext = crypto.decrypt(value, associated_data(instance, self.field.name))
            except crypto.DecryptionError as exc:
                raise crypto.DecryptionError(
                    f"Cannot decrypt {instance._meta.label}.{self.field.name} of row {instance.pk}: {exc}"
                ) from exc
            value = self.field.from_plaintext(plaintext)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """A secret string. Never filter on it; it is a different ciphertext every save."""

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        setattr(cls, self.attname, _EncryptedDescriptor(self))

    def to_plaintext(self, value: Any) -> str:
        return str(value)

    def from_plaintext(self, plaintext: str) -> Any:
        return plaintext

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return self.get_default()
        return _Stored(value)

    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname)
        if isinstance(value, _Stored):
            return str(value)
        if value in (None, "") or value == self.get_default():
            return ""
        return crypto.encrypt(self.to_plaintext(value), associated_data(model_instance, self.name))

    def get_prep_value(self, value):
        # Only ciphertext (from pre_save) or empty reaches the database.
        if value is None:
            return ""
        return str(value) if isinstance(value, str) and crypto.key_id_of(value) is not None else ""

    def value_to_string(self, obj):
        return "set" if self.is_set(obj) else "not set"

    def is_set(self, obj) -> bool:
        return bool(obj.__dict__.get(self.attname))

    def formfield(self, **kwargs):
        return None


class EncryptedJSONField(EncryptedTextField):
    """A secret dict (e.g. a connection's credentials), stored as encrypted JSON."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def to_plaintext(self, value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    def from_plaintext(self, plaintext: str) -> Any:
        return json.loads(plaintext)


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
