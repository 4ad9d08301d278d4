import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The `team` fixture hashes four passwords; PBKDF2's deliberate slowness is not under test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
