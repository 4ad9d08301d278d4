"""SyncSmart settings: one module, configured by environment variables.

The embedded default (no environment at all) runs on a SQLite file and the django-q2 ORM
broker, with a SECRET_KEY and encryption key generated once into `.local/secrets.json`.
Production (`SYNCSMART_ENV=production`) refuses to start without real secrets.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import json
import os
import secrets
import shutil
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


PRODUCTION = env_str("SYNCSMART_ENV", "development") == "production"
LOCAL_DIR = Path(env_str("SYNCSMART_LOCAL_DIR", str(BASE_DIR / ".local")))


def _local_secrets() -> dict[str, str]:
    """Generate the embedded default's secrets once, so restarts keep sessions and data."""
    path = LOCAL_DIR / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    LOCAL_DIR.chmod(0o700)  # the database, its WAL and these secrets: the owner's only
    generated = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SYNCSMART_ENCRYPTION_KEYS": "1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    path.write_text(json.dumps(generated, indent=2))
    path.chmod(0o600)
    return generated


if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    ENCRYPTION_KEYS_SPEC = env_str("SYNCSMART_ENCRYPTION_KEYS")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured("SYNCSMART_ENV=production needs SECRET_KEY (50+ random characters).")
    if not ENCRYPTION_KEYS_SPEC:
        raise ImproperlyConfigured(
            "SYNCSMART_ENV=production needs SYNCSMART_ENCRYPTION_KEYS, e.g. '1:<base64 of 32 random bytes>'."
        )
else:
    _generated = _local_secrets()
    SECRET_KEY = env_str("SECRET_KEY") or _generated["SECRET_KEY"]
    ENCRYPTION_KEYS_SPEC = env_str("SYNCSMART_ENCRYPTION_KEYS") or _generated["SYNCSMART_ENCRYPTION_KEYS"]

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "social_django",
    # Log-in throttling and lock-out per account and per address (tenants/throttle.py).
    "axes",
    # Content-Security-Policy header (CONTENT_SECURITY_POLICY below).
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "syncsmart",
    "tenants",
    "connectors",
    "mappings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "tenants.middleware.PermissionsPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.CurrentTenantMiddleware",
    "social_django.middleware.SocialAuthExceptionMiddleware",
    # Last, as django-axes asks: turns a locked-out log-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "syncsmart.urls"
WSGI_APPLICATION = "syncsmart.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "tenants.context_processors.tenant",
                "social_django.context_processors.backends",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(LOCAL_DIR / "syncsmart.sqlite3")),
            # WAL + immediate transactions + a busy timeout: several q2 workers and the web
            # server write at once without "database is locked".
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
if env_str("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DB_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- django-q2 ----------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER: dict = {
    # Parallel test workers, and test runs one after another, share one Redis: each worker of
    # each run gets its own queue, so no test ever sees another's tasks (signed with another key).
    "name": env_str("Q_CLUSTER_NAME", "syncsmart")
    + (
        f"-{os.environ['PYTEST_XDIST_WORKER']}-{os.environ.get('PYTEST_XDIST_TESTRUNUID', '')[:8]}"
        if os.environ.get("PYTEST_XDIST_WORKER")
        else ""
    ),
    "workers": env_int("Q_WORKERS", 2),
    "timeout": env_int("Q_TIMEOUT", 600),
    # retry must exceed timeout, or a slow task is handed to a second worker while it runs.
    "retry": env_int("Q_TIMEOUT", 600) + 120,
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    "poll": 0.2,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# --- the sync engine (read once into syncsmart.engine.config.EngineSettings) ---------------
# A run's lease (renewed at a page's commit once a third of it has passed) and slice length; short values let the fault soak
# recover from a SIGKILLed worker within seconds (the engine's defaults are 120 s and 20 s).
SYNC_LEASE_SECONDS = env_int("SYNC_LEASE_SECONDS", 120)
SYNC_SLICE_SECONDS = env_int("SYNC_SLICE_SECONDS", 20)
# How long a create that got no answer waits to show up before it is sent again.
SYNC_PENDING_GRACE_SECONDS = env_float("SYNC_PENDING_GRACE_SECONDS", 600)
# How long a webhook-triggered run waits after its last write for the notifications of its own writes (0: it ends at once).
SYNC_WEBHOOK_LINGER_SECONDS = env_float("SYNC_WEBHOOK_LINGER_SECONDS", 2.0)
# Execute a requested run in the requesting process instead of the queue (tests and demos).
SYNC_RUN_INLINE = env_bool("SYNC_RUN_INLINE", False)
# Deletions (syncsmart.engine.deletions): the mass-deletion guard and the reconcile of linked ids.
SYNC_DELETE_GUARD_COUNT = env_int("SYNC_DELETE_GUARD_COUNT", 50)
SYNC_DELETE_GUARD_PERCENT = env_float("SYNC_DELETE_GUARD_PERCENT", 5.0)
SYNC_DELETE_GUARD_MIN = env_int("SYNC_DELETE_GUARD_MIN", 5)
SYNC_RECONCILE_MINUTES = env_float("SYNC_RECONCILE_MINUTES", 60)
# How often a run checks that the vendors still hold our webhook subscriptions.
SYNC_WEBHOOK_CHECK_MINUTES = env_float("SYNC_WEBHOOK_CHECK_MINUTES", 5)
# Vendor calls one connection keeps in flight during a page, per system, e.g. "hubspot=4,connectwise=8";
# a system left out keeps its connector's declared bound (Connector.max_concurrency).
SYNC_VENDOR_CONCURRENCY = {
    name.strip(): int(bound)
    for name, _, bound in (pair.partition("=") for pair in env_list("SYNC_VENDOR_CONCURRENCY"))
    if bound.strip()
}

# --- Daily API budgets (connectors/quota.py): our share of each vendor account's daily limit,
# and the part of it kept for live traffic (historical resyncs pause before touching it).
QUOTA_BUDGET_PERCENT = env_float("QUOTA_BUDGET_PERCENT", 50)
QUOTA_LIVE_RESERVE_PERCENT = env_float("QUOTA_LIVE_RESERVE_PERCENT", 20)
QUOTA_PAUSE_MINUTES = env_float("QUOTA_PAUSE_MINUTES", 15)  # a paused historical run looks again after this
# A system's daily limit for every account of it, e.g. `dynamics=500000,connectwise=200000`, where
# the connector's default (its vendor's published number, or SyncSmart's own ceiling) is wrong.
QUOTA_DAILY_LIMITS = {
    name.strip(): int(bound)
    for name, _, bound in (pair.partition("=") for pair in env_list("QUOTA_DAILY_LIMITS"))
    if bound.strip()
}
ALERT_QUOTA_PERCENT = env_float("ALERT_QUOTA_PERCENT", 80)  # alert when today's forecast passes the budget and use passes this

# --- Alerts (syncsmart.alerts, evaluated by a q2 schedule every ALERT_EVERY_MINUTES) --------
ALERT_FAILED_RUNS = env_int("ALERT_FAILED_RUNS", 3)  # this many finished runs in a row failed
ALERT_STUCK_MINUTES = env_float("ALERT_STUCK_MINUTES", 30)  # running without a heartbeat, or due and not started
ALERT_FAILURES_PER_HOUR = env_int("ALERT_FAILURES_PER_HOUR", 50)  # failed records of one integration in an hour
ALERT_STAFF_EMAILS = env_list("ALERT_STAFF_EMAILS")  # staff copies of every alert (the console lists them anyway)

# --- Auth ---------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "tenants.auth.EmailBackend",
    "social_core.backends.hubspot.HubSpotOAuth2",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes: LOGIN_FAILURE_LIMIT failures within LOGIN_COOLOFF_MINUTES, per account or per
# address, lock that account / address for the rest of the window (tenants/throttle.py).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "tenants.throttle.login_name"
AXES_LOCKOUT_CALLABLE = "tenants.throttle.locked_out_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# A failure during a lock-out does not extend it: it ends COOLOFF after the failure that locked.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The client's address behind reverse proxies that append it to X-Forwarded-For: how many such
# proxies stand in front of the app. 0 (the default): the header is ignored, the client is
# REMOTE_ADDR. N: the N-th address from the right of the header (what a client writes into the
# header itself lies further left and is never used). The log-in lock-out and the API's
# anonymous rate limit both use this one rule (tenants.throttle.client_address, DRF's NUM_PROXIES).
TRUSTED_PROXY_COUNT = max(0, env_int("TRUSTED_PROXY_COUNT", 0))
AXES_CLIENT_IP_CALLABLE = "tenants.throttle.client_address"

# Salesforce: the connected app the installer's "Sign in with Salesforce" uses (web-server flow).
# SALESFORCE_LOGIN_URL blank: login.salesforce.com for production orgs, test.salesforce.com for
# sandboxes; the demo points it at the Salesforce emulator (and SALESFORCE_CA_FILE at its CA).
SALESFORCE_CLIENT_ID = env_str("SALESFORCE_CLIENT_ID")
SALESFORCE_CLIENT_SECRET = env_str("SALESFORCE_CLIENT_SECRET")
SALESFORCE_LOGIN_URL = env_str("SALESFORCE_LOGIN_URL")
SALESFORCE_CA_FILE = env_str("SALESFORCE_CA_FILE")

# HubSpot OAuth through social-auth: the authorize / token URLs are settings so the demo and
# the tests point them at the HubSpot emulator.
HUBSPOT_API_BASE = env_str("HUBSPOT_API_BASE", "https://api.hubapi.com")
HUBSPOT_APP_BASE = env_str("HUBSPOT_APP_BASE", "https://app.hubspot.com")
SOCIAL_AUTH_HUBSPOT_KEY = env_str("HUBSPOT_CLIENT_ID")
SOCIAL_AUTH_HUBSPOT_SECRET = env_str("HUBSPOT_CLIENT_SECRET")
# The app's webhooks v3 settings and subscriptions are managed with its id and developer API key.
HUBSPOT_APP_ID = env_str("HUBSPOT_APP_ID")
HUBSPOT_DEVELOPER_API_KEY = env_str("HUBSPOT_DEVELOPER_API_KEY")
SOCIAL_AUTH_HUBSPOT_SCOPE = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.owners.read",
    "crm.schemas.contacts.read",
]
SOCIAL_AUTH_HUBSPOT_AUTHORIZATION_URL = env_str("HUBSPOT_AUTHORIZATION_URL", HUBSPOT_APP_BASE + "/oauth/authorize")
SOCIAL_AUTH_HUBSPOT_ACCESS_TOKEN_URL = env_str("HUBSPOT_ACCESS_TOKEN_URL", HUBSPOT_API_BASE + "/oauth/v1/token")
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_JSONFIELD_ENABLED = True
# Tokens from the install flow go into our encrypted Connection model, not social-auth's
# plaintext extra_data.
SOCIAL_AUTH_HUBSPOT_EXTRA_DATA: list = []
SOCIAL_AUTH_HUBSPOT_USER_DATA_URL = env_str("HUBSPOT_USER_DATA_URL", HUBSPOT_API_BASE + "/oauth/v1/access-tokens/")
# The install flow's backend: social-auth's HubSpotOAuth2 with the token-metadata URL read from the
# setting above (upstream hard-codes api.hubapi.com). Only social-auth looks this list up; the user is
# already logged in by the wizard's account step, so Django's AUTHENTICATION_BACKENDS is not involved.
SOCIAL_AUTH_AUTHENTICATION_BACKENDS = ["tenants.onboarding.backends.HubSpotInstallOAuth2"]
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "tenants.onboarding.pipeline.require_installer",
    "tenants.onboarding.pipeline.store_hubspot_connection",
)
SOCIAL_AUTH_NEW_ASSOCIATION_REDIRECT_URL = "/onboarding/hubspot/"
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/onboarding/hubspot/"
SOCIAL_AUTH_LOGIN_ERROR_URL = "/onboarding/hubspot/"

# --- Secrets at rest ----------------------------------------------------------------------
# "2:<base64 key>,1:<base64 key>": every key id that may still be in the database; the
# highest id encrypts new values. See `manage.py rotate_keys`.
SYNCSMART_ENCRYPTION_KEYS = ENCRYPTION_KEYS_SPEC

# Outbound hosts a user may type (Dynamics org URL, ConnectWise site) are checked; these
# extra hosts are allowed besides the vendor-shaped ones (the emulators on loopback).
SYNCSMART_ALLOWED_EMULATOR_HOSTS = env_list("SYNCSMART_ALLOWED_EMULATOR_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost")

# --- Web ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = LOCAL_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# The embedded default serves static files itself, straight from the app folders.
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SyncSmart <no-reply@syncsmart.local>")

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A strict Content-Security-Policy (django-csp): scripts only from our own static files (page
# behaviour lives in static/js/ui.js, never in inline scripts or on*/hx-on attributes; a nonce is
# added only where a third-party template asks for one); styles may be inline (htmx's indicator
# style and a few style attributes); nothing may frame us or be embedded as an object.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, CSP_NONCE],
        "style-src": [CSP_SELF, "'unsafe-inline'"],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "worker-src": [CSP_SELF, "blob:"],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
        "form-action": [CSP_SELF, HUBSPOT_APP_BASE],
    }
}
# Browser features no page of ours uses (tenants.middleware.PermissionsPolicyMiddleware).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), display-capture=(), browsing-topics=()"
)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Scripts use a tenant's API token; a logged-in browser (the docs page) its session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "syncsmart.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["syncsmart.api.auth.TenantAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["syncsmart.api.throttling.PerTokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env_str("API_RATE_LIMIT", "600/min")},
    # Not None: DRF would otherwise take the whole X-Forwarded-For a client sends as its identity.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_PAGINATION_CLASS": "syncsmart.api.pagination.ApiCursorPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a depth bound (syncsmart.jsonbounds): deep bodies are a 400.
    "DEFAULT_PARSER_CLASSES": ["syncsmart.api.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "syncsmart.api.errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SyncSmart API",
    "DESCRIPTION": (
        "Integrations, mappings, filters, runs, record events and connections of one tenant. "
        "Authenticate with `Authorization: Bearer <API token>`; errors are always "
        '`{"error": {"code", "message", "fields"?}}`; lists use cursor pagination (`next` / `previous`).'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConnectionStatusEnum": "connectors.models.Connection.Status",
        "RunStatusEnum": "syncsmart.models.SyncRun.Status",
        "SideEnum": "syncsmart.core.choices.Side",
        "DeletePolicyEnum": "mappings.models.ObjectMapping.DeletePolicy",
        "ConflictAcceptEnum": "syncsmart.models.HeldConflict.Accepted",
        "ConflictSideEnum": [("hubspot", "HubSpot's value"), ("other", "The other system's value")],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "syncsmart.api.errors.add_error_responses",
        "syncsmart.api.strict.text_without_nul",
        "syncsmart.api.body_schemas.add_body_schemas",
    ],
    # Swagger UI / ReDoc from our own static files: a self-hosted install may have no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# syncsmart.logging.configure also redacts every record of every logger when it is made.
# --- operations: metrics and log format (docs/operations.md) ---
# prometheus-client's multiprocess mode: every process (web, q2 workers) writes its values here
# and /metrics adds them up. Set before prometheus_client is first imported (it reads it then);
# wipe it when the whole deployment restarts (docs/operations.md).
# A test process gets its own (by pid; its subprocesses inherit it through the environment), so a
# test's counts are its own even when other test sessions of the same checkout run at once.
PROMETHEUS_MULTIPROC_DIR = env_str(
    "PROMETHEUS_MULTIPROC_DIR",
    str(LOCAL_DIR / (f"prometheus-test/{os.getpid()}" if "pytest" in sys.modules else "prometheus")),
)
if "pytest" in sys.modules and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    atexit.register(shutil.rmtree, PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# /metrics answers a request with `Authorization: Bearer <METRICS_TOKEN>` or from an address in
# METRICS_ALLOWED_IPS; without either setting it is off (404).
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS")
# "plain" (the demo console) or "json" (one JSON object a line, with tenant/integration/run ids).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")

LOGGING_CONFIG = "syncsmart.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "syncsmart.logging.RedactSecretsFilter"}},
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
        "plain": {"format": "%(message)s"},  # as before: the demo console
        # python-json-logger: the record's extra attributes (tenant, integration, run, record) become keys.
        "json": {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact"],
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        },
        # The dev server's request lines (runserver), through the same filter.
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
