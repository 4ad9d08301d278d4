from tests.api.conftest import _fast_password_hashing, _fresh_throttle_counters, api  # noqa: F401 - fixtures
