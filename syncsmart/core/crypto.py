"""Secrets at rest: AES-256-GCM under versioned keys from the environment.

A stored value looks like ``ss1:<key id>:<base64(nonce || ciphertext+tag)>``. The associated
data binds it to its table, row and field, so a ciphertext copied to another row or column
fails to decrypt instead of revealing (or silently swapping) a secret.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "ss1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored secret could not be decrypted (tampered, moved, or its key is gone)."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[int, bytes]

    @property
    def current_id(self) -> int:
        return max(self.keys)

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        keys: dict[int, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key_id, _, encoded = item.partition(":")
            key = base64.b64decode(encoded)
            if len(key) != 32:
                raise ValueError(f"Encryption key {key_id} must be 32 bytes (AES-256), got {len(key)}.")
            keys[int(key_id)] = key
        if not keys:
            raise ValueError("No encryption keys configured (SYNCSMART_ENCRYPTION_KEYS).")
        return cls(keys)


@lru_cache(maxsize=4)
def _keyring_for(spec: str) -> Keyring:
    return Keyring.parse(spec)


def keyring() -> Keyring:
    return _keyring_for(settings.SYNCSMART_ENCRYPTION_KEYS)


def encrypt(plaintext: str, associated_data: str, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    key_id = ring.current_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.keys[key_id]).encrypt(nonce, plaintext.encode(), associated_data.encode())
    return f"{PREFIX}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def key_id_of(stored: str) -> int | None:
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1].isdigit():
        return None
    return int(parts[1])


def decrypt(stored: str, associated_data: str, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    key_id = key_id_of(stored)
    if key_id is None:
        raise DecryptionError("value is not an encrypted secret")
    if key_id not in ring.keys:
        raise DecryptionError(f"key {key_id} is not configured")
    try:
        blob = base64.b64decode(stored.split(":", 2)[2], validate=True)
        return AESGCM(ring.keys[key_id]).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data.encode()).decode()
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("ciphertext does not authenticate (tampered, or moved from another row)") from exc
