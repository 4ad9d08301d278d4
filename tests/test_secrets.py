"""Secrets at rest: AES-256-GCM, bound to their row, rotatable, never readable in the database."""

import base64
import io
import os

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from connectors.models import Connection
from syncsmart.core import crypto
from syncsmart.management.commands import rotate_keys
from tests.factories import ConnectionFactory

PLAINTEXT = "pk-live-PLAINTEXT-SHOULD-NEVER-APPEAR-7f3a"
KEY1 = "1:" + base64.b64encode(b"\x01" * 32).decode()
KEY2 = "2:" + base64.b64encode(b"\x02" * 32).decode()


def raw_column(pk, column="credentials") -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM connectors_connection WHERE id = %s", [pk.hex if connection.vendor == "sqlite" else pk]
        )
        return cursor.fetchone()[0]


def raw_database_bytes() -> bytes:
    """Every byte the database holds for the table: the SQLite file image, or PostgreSQL's COPY
    (what pg_dump would write for the table)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.serialize()
    with connection.cursor() as cursor, cursor.copy("COPY connectors_connection TO STDOUT") as copy:
        return b"".join(bytes(chunk) for chunk in copy)


@pytest.mark.django_db
def test_a_stored_credential_never_appears_in_the_raw_database():
    conn = ConnectionFactory(credentials={"private_key": PLAINTEXT}, oauth_tokens={"refresh_token": PLAINTEXT + "-r"})
    assert PLAINTEXT.encode() not in raw_database_bytes()
    assert raw_column(conn.pk).startswith("ss1:")
    assert Connection.objects.get(pk=conn.pk).credentials == {"private_key": PLAINTEXT}


@pytest.mark.django_db
def test_each_save_uses_a_fresh_nonce_and_carries_its_key_id():
    conn = ConnectionFactory(credentials={"k": "v"})
    first = raw_column(conn.pk)
    conn.save()
    second = raw_column(conn.pk)
    assert first != second
    assert crypto.key_id_of(first) == crypto.key_id_of(second) == crypto.keyring().current_id


@pytest.mark.django_db
def test_a_ciphertext_moved_to_another_row_fails_clearly_naming_the_row():
    victim = ConnectionFactory(credentials={"private_key": PLAINTEXT})
    thief = ConnectionFactory(credentials={"private_key": "mine"})
    Connection.objects.filter(pk=thief.pk).update(credentials=raw_column(victim.pk))
    reloaded = Connection.objects.get(pk=thief.pk)
    with pytest.raises(crypto.DecryptionError) as excinfo:
        _ = reloaded.credentials
    assert str(thief.pk) in str(excinfo.value)
    assert PLAINTEXT not in str(excinfo.value)


@pytest.mark.django_db
def test_a_ciphertext_moved_to_another_field_of_the_same_row_fails():
    conn = ConnectionFactory(credentials={"a": "b"}, oauth_tokens={"access_token": "t"})
    Connection.objects.filter(pk=conn.pk).update(oauth_tokens=raw_column(conn.pk, "credentials"))
    with pytest.raises(crypto.DecryptionError):
        _ = Connection.objects.get(pk=conn.pk).oauth_tokens


@pytest.mark.django_db
def test_a_tampered_ciphertext_raises_instead_of_returning_garbage():
    conn = ConnectionFactory(credentials={"private_key": PLAINTEXT})
    stored = raw_column(conn.pk)
    prefix, key_id, blob = stored.split(":", 2)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    Connection.objects.filter(pk=conn.pk).update(credentials=f"{prefix}:{key_id}:{base64.b64encode(bytes(raw)).decode()}")
    with pytest.raises(crypto.DecryptionError, match="does not authenticate"):
        _ = Connection.objects.get(pk=conn.pk).credentials


@pytest.mark.django_db
def test_key_rotation_re_encrypts_everything_and_survives_an_interruption(monkeypatch):
    with override_settings(SYNCSMART_ENCRYPTION_KEYS=KEY1):
        conns = [ConnectionFactory(credentials={"private_key": f"{PLAINTEXT}-{i}"}) for i in range(5)]
    assert {crypto.key_id_of(raw_column(c.pk)) for c in conns} == {1}

    with override_settings(SYNCSMART_ENCRYPTION_KEYS=f"{KEY2},{KEY1}"):
        real_encrypt = crypto.encrypt
        calls = {"n": 0}

        def interrupted_after_two(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] > 2:
                raise KeyboardInterrupt("operator pressed Ctrl-C")
            return real_encrypt(*args, **kwargs)

        monkeypatch.setattr(rotate_keys.crypto, "encrypt", interrupted_after_two)
        with pytest.raises(KeyboardInterrupt):
            rotate_keys.rotate_all()
        monkeypatch.setattr(rotate_keys.crypto, "encrypt", real_encrypt)
        key_ids = [crypto.key_id_of(raw_column(c.pk)) for c in conns]
        assert key_ids.count(2) == 2 and key_ids.count(1) == 3

        out = io.StringIO()
        call_command("rotate_keys", stdout=out)
        assert "3 rotated, 2 already current, 0 failed" in out.getvalue()
        assert {crypto.key_id_of(raw_column(c.pk)) for c in conns} == {2}
        assert [Connection.objects.get(pk=c.pk).credentials["private_key"] for c in conns] == [
            f"{PLAINTEXT}-{i}" for i in range(5)
        ]

    # Once rotated, the old key can be retired.
    with override_settings(SYNCSMART_ENCRYPTION_KEYS=KEY2):
        assert Connection.objects.get(pk=conns[0].pk).credentials["private_key"] == f"{PLAINTEXT}-0"


@pytest.mark.django_db
def test_staff_console_shows_whether_secrets_are_set_never_their_value(admin_client):
    conn = ConnectionFactory(credentials={"private_key": PLAINTEXT})
    response = admin_client.get(f"/staff/admin/connectors/connection/{conn.pk}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "credentials: set" in body
    assert PLAINTEXT not in body and "ss1:" not in body
    listing = admin_client.get("/staff/admin/connectors/connection/").content.decode()
    assert PLAINTEXT not in listing and "ss1:" not in listing


def test_log_lines_are_scrubbed_of_secrets():
    from syncsmart.logging import redact

    line = 'POST /token client_secret=abc123&code=x Authorization: Bearer eyJhbGciOi "private_key": "zzz" ss1:1:QUJD'
    cleaned = redact(line)
    for secret in ("abc123", "eyJhbGciOi", "zzz", "ss1:1:QUJD"):
        assert secret not in cleaned


def test_production_settings_refuse_to_start_without_real_secrets(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SYNCSMART_ENCRYPTION_KEYS")}
    env.update(SYNCSMART_ENV="production", SYNCSMART_LOCAL_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
