"""Salesops settings: one module, every setting from the environment, safe defaults.

Nothing set means production-safe: DEBUG off, so a SECRET_KEY is required and the demo
password is refused. `make run` turns DEBUG on explicitly; the test run (TESTING) does so
by default. Without DATABASE_URL / REDIS_URL the embedded PostgreSQL and Redis (from
wheels, data under var/) are used: importing this module only works out where they
listen; `serve`, the test setup or `python -m salesops.embedded start` start them (see
salesops/embedded.py).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules or os.environ.get("SALESOPS_TESTING") == "1"
# Off unless asked for: a server started without configuration must not accept the demo
# password or the development key. The tests ask for it (TESTING), `make run` sets DEBUG=1.
DEBUG = env_bool("DEBUG", TESTING)
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-" + "x" * 32
SECRET_KEY = os.environ.get("SECRET_KEY", "")
_MAKE_A_KEY = (
    "e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or "
    "set DEBUG=1 for a local development run."
)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(f"SECRET_KEY must be set when DEBUG is off ({_MAKE_A_KEY})")
    SECRET_KEY = DEV_SECRET_KEY
elif SECRET_KEY == DEV_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured("The development SECRET_KEY is only accepted with DEBUG on.")
# Django's own bar (check --deploy, security.W009): a guessable key forges sessions,
# password-reset links and signed values, so a server refuses to start with one.
elif not DEBUG and (
    len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak: use at least 50 random characters, not a placeholder nor "
        f"startproject's 'django-insecure-' key ({_MAKE_A_KEY})"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "bootstrap",
    "salesops",
    "pipeline",
    "proposals",
    "coaching",
    "forecasting",
    "hiring",
    "insights",
    "exchange",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files get the policy too (and keep their own caching).
    "salesops.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Every write of the request records its path in the audit trail.
    "salesops.audit_context.AuditContextMiddleware",
    "salesops.api.middleware.ApiBodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "salesops.middleware.OrganisationTimeZoneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "salesops.urls"
WSGI_APPLICATION = "salesops.wsgi.application"

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
                "pipeline.context_processors.navbar",
            ],
        },
    },
]

# --- Data stores -----------------------------------------------------------
# The embedded servers this process's settings point at (started elsewhere, see above).
EMBEDDED_SERVERS: list[str] = []
if os.environ.get("DATABASE_URL"):
    DATABASE_URL = os.environ["DATABASE_URL"]
else:
    from salesops import embedded

    DATABASE_URL = embedded.configured_database_url()
    EMBEDDED_SERVERS.append("postgres")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})
# PostgreSQL's JIT compiles a large query before running it: 0.1-0.3 s each time, which
# pays off only in long analytic runs. The app's queries are interactive (measured at 1M
# deals: 0.3 s of the forecast trend's 2.6 s was compilation), so it is off unless
# DATABASE_JIT=1.
if os.environ.get("DATABASE_JIT") != "1":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise RuntimeError("Salesops runs on PostgreSQL only; DATABASE_URL must be postgres://…")

if os.environ.get("REDIS_URL"):
    REDIS_URL = os.environ["REDIS_URL"]
else:
    from salesops import embedded

    REDIS_URL = embedded.configured_redis_url()
    EMBEDDED_SERVERS.append("redis")
if TESTING and (_xdist_worker := os.environ.get("PYTEST_XDIST_WORKER", "")).startswith("gw"):
    # Tests in parallel (pytest-xdist): each test process gets a Redis database of its own
    # (broker, results, cache), as pytest-django gives it a PostgreSQL database of its own,
    # so a real Celery worker started by one process never takes another's tasks.
    _redis = urlsplit(REDIS_URL)
    _db = (int(_redis.path.strip("/") or 0) + 1 + int(_xdist_worker[2:])) % 16
    REDIS_URL = urlunsplit(_redis._replace(path=f"/{_db}"))

# Seconds one cache call may wait for Redis; while Redis is unreachable the cache answers
# as an empty one (salesops/cache.py), so an outage slows pages down, never fails them.
REDIS_CACHE_TIMEOUT = float(os.environ.get("REDIS_CACHE_TIMEOUT", 0.5))
CACHES = {
    "default": {
        "BACKEND": "salesops.cache.DegradingRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            "socket_connect_timeout": REDIS_CACHE_TIMEOUT,
            "socket_timeout": REDIS_CACHE_TIMEOUT,
        },
        # A test run gets its own key space: throttle counters never leak between runs.
        # A real Celery worker started by a test shares its key space (SALESOPS_CACHE_PREFIX).
        "KEY_PREFIX": os.environ.get("SALESOPS_CACHE_PREFIX")
        or (f"salesops-test-{os.getpid()}" if TESTING else "salesops"),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "salesops.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "pipeline:board"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # 12, not Django's 8: length is what slows an offline guess of a leaked hash most.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["salesops.auth.DemoAwareModelBackend"]
# Failed sign-ins (salesops/login_throttle.py): after LOGIN_MAX_FAILURES failures for one
# username, or LOGIN_MAX_FAILURES_PER_ADDRESS from one client address (also wrong API keys),
# within LOGIN_LOCK_MINUTES, further attempts are refused for LOGIN_LOCK_MINUTES. 0 turns a
# limit off. LOGIN_TRUSTED_PROXIES: how many proxies in front of the app append the
# client's address to X-Forwarded-For (0: the connection's address is the client's).
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", 5))
LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 20))
LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", 15))
LOGIN_TRUSTED_PROXIES = int(os.environ.get("LOGIN_TRUSTED_PROXIES", 0))
if min(LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_PER_ADDRESS, LOGIN_TRUSTED_PROXIES) < 0:
    raise RuntimeError(
        "LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_PER_ADDRESS and LOGIN_TRUSTED_PROXIES must be "
        "0 or more."
    )
if LOGIN_LOCK_MINUTES < 1:
    raise RuntimeError("LOGIN_LOCK_MINUTES must be 1 or more.")
if TESTING:
    # Hashing cost only slows the suite; production keeps the default hasher.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Berlin")  # the organisation's timezone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Demo logins (password "demo") exist only for local evaluation: refused when DEBUG is off.
DEMO_PASSWORD_ALLOWED = DEBUG

# --- REST API --------------------------------------------------------------
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", 256 * 1024))
# The largest CSV file one import takes (pages and API), in bytes; files of at least
# IMPORT_BACKGROUND_ROWS rows are imported by the Celery worker, with a progress bar.
IMPORT_MAX_FILE_BYTES = int(os.environ.get("IMPORT_MAX_FILE_BYTES", 50 * 1024 * 1024))
IMPORT_BACKGROUND_ROWS = int(os.environ.get("IMPORT_BACKGROUND_ROWS", 10_000))
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "salesops.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["salesops.api.permissions.ApiKeyScopePermission"],
    "DEFAULT_PAGINATION_CLASS": "salesops.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["salesops.api.filters.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "salesops.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "salesops.api.errors.exception_handler",
    # JSON deeper than salesops.api.parsers.MAX_DEPTH is a 400, never a RecursionError.
    "DEFAULT_PARSER_CLASSES": [
        "salesops.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + ([] if not DEBUG else ["rest_framework.renderers.BrowsableAPIRenderer"]),
    "DEFAULT_THROTTLE_CLASSES": ["salesops.api.throttling.PerKeyOrUserThrottle"],
    "DEFAULT_THROTTLE_RATES": {"per_key_or_user": os.environ.get("API_THROTTLE_RATE", "6000/min")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# The OpenAPI schema and its docs need a signed-in user or an API key (read scope), as
# every other API read does: the schema maps every endpoint and field. True: public.
API_SCHEMA_PUBLIC = env_bool("API_SCHEMA_PUBLIC", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "Salesops API",
    "SERVE_PERMISSIONS": ["salesops.api.permissions.SchemaPermission"],
    "DESCRIPTION": "Pipeline, qualification and forecasting API. Authenticate with "
    "`Authorization: Bearer <api key>`. An empty query value (`?status=`) is the same as "
    "leaving the parameter out.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "kind" choice field; name their enums explicitly.
    "ENUM_NAME_OVERRIDES": {
        "ActivityKindEnum": "pipeline.models.ActivityKind",
        "MilestoneKindEnum": "pipeline.models.MilestoneKind",
        "FlagKindEnum": "pipeline.models.FlagKind",
        "ProposalStatusEnum": "proposals.models.ProposalStatus",
        # --- opportunity reviews ---
        "ReviewStatusEnum": "coaching.models.ReviewStatus",
        "AgendaSourceEnum": "coaching.models.AgendaSource",
        "EvidenceSourceEnum": "pipeline.models.EvidenceSource",
        # --- imports ---
        "ImportKindEnum": "exchange.models.KIND_CHOICES",
        "ImportBatchStatusEnum": "exchange.models.BatchStatus",
    },
}

# --- Celery ----------------------------------------------------------------
# At-least-once delivery: a task is lost neither to a killed pool child, a killed worker
# nor a database outage (measured in bench/celery_reliability.py; design notes in
# salesops/tasking.py, whose ReliableTask every task uses).
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = int(os.environ.get("CELERY_RESULT_EXPIRES", 24 * 3600))
# Ack after the task returned; a pool child killed mid-task requeues its message.
CELERY_TASK_ACKS_LATE = env_bool("CELERY_TASK_ACKS_LATE", True)
CELERY_TASK_REJECT_ON_WORKER_LOST = env_bool("CELERY_TASK_REJECT_ON_WORKER_LOST", True)
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", 300))
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", 240))
# One message reserved per pool slot: a killed worker strands as few as possible, and
# a long task does not sit on messages that an idle worker could run.
CELERY_WORKER_PREFETCH_MULTIPLIER = int(os.environ.get("CELERY_WORKER_PREFETCH_MULTIPLIER", 1))
# Broker lost: running late-ack tasks cannot be acked any more and come back anyway;
# stop them rather than run them twice (Celery 6's default).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message unacked for this long is handed out again. Short, so the messages of a
    # SIGKILLed worker return in ~20 s rather than an hour; safe for tasks of any length
    # (up to the time limit and beyond) because live workers renew the lease of what they
    # hold every visibility_timeout / 5 s (salesops.tasking.VisibilityLease).
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 20)),
    # Sweep for expired leases every 2 s; throttle 1 = really scan on every sweep
    # (kombu's defaults, 10 s x 10, make it one scan per 100 s).
    "unacked_restore_interval": int(os.environ.get("CELERY_UNACKED_RESTORE_INTERVAL", 2)),
    "unacked_restore_throttle": 1,
    # The sweep lock; a worker killed while holding it must not block sweeps for 5 min.
    "unacked_mutex_expire": 15,
    # A broker host that does not answer at all: a connection attempt gives up after 2 s
    # (not the OS's 2 minutes). Tasks queued from requests are kept in the outbox meanwhile
    # (salesops/outbox.py).
    "socket_connect_timeout": float(os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", 2)),
}
CELERY_TIMEZONE = TIME_ZONE

# --- Qualification and attention flags ------------------------------------------
QUALIFICATION_VALIDITY_DAYS = int(os.environ.get("QUALIFICATION_VALIDITY_DAYS", 30))
NO_ACTIVITY_DAYS = int(os.environ.get("NO_ACTIVITY_DAYS", 14))
FLAGS_REFRESH_MINUTES = int(os.environ.get("FLAGS_REFRESH_MINUTES", 60))
# Proposals: the executive summary's length in words, and how close to another deal's
# summary (Jaccard similarity of 3-word shingles) counts as a copied template.
PROPOSAL_SUMMARY_MIN_WORDS = int(os.environ.get("PROPOSAL_SUMMARY_MIN_WORDS", 60))
PROPOSAL_SUMMARY_MAX_WORDS = int(os.environ.get("PROPOSAL_SUMMARY_MAX_WORDS", 400))
PROPOSAL_SUMMARY_MAX_SIMILARITY = float(os.environ.get("PROPOSAL_SUMMARY_MAX_SIMILARITY", 0.8))
NOTIFICATION_DIGEST_HOUR = int(os.environ.get("NOTIFICATION_DIGEST_HOUR", 7))
# Coaching cadence: a 1:1 every N days per rep, weekly in a rep's first 90 days; the
# overdue 1:1 and action-item flags are refreshed every COACHING_CADENCE_REFRESH_MINUTES.
COACHING_ONE_ON_ONE_DAYS = int(os.environ.get("COACHING_ONE_ON_ONE_DAYS", 14))
COACHING_NEW_REP_ONE_ON_ONE_DAYS = int(os.environ.get("COACHING_NEW_REP_ONE_ON_ONE_DAYS", 7))
COACHING_NEW_REP_DAYS = int(os.environ.get("COACHING_NEW_REP_DAYS", 90))
COACHING_CADENCE_REFRESH_MINUTES = int(os.environ.get("COACHING_CADENCE_REFRESH_MINUTES", 60))
# Forecasting: the first month of the fiscal year (1 = January; 4 = April: FY2027 runs
# April 2026 - March 2027, named by the calendar year in which it ends), and the hour
# (organisation's timezone) of the Monday beat job that takes the weekly pipeline snapshot.
FISCAL_YEAR_START_MONTH = int(os.environ.get("FISCAL_YEAR_START_MONTH", 1))
if not 1 <= FISCAL_YEAR_START_MONTH <= 12:
    raise RuntimeError("FISCAL_YEAR_START_MONTH must be a month number, 1-12.")
PIPELINE_SNAPSHOT_HOUR = int(os.environ.get("PIPELINE_SNAPSHOT_HOUR", 2))
if not 0 <= PIPELINE_SNAPSHOT_HOUR <= 23:
    raise RuntimeError("PIPELINE_SNAPSHOT_HOUR must be an hour, 0-23.")
# --- quotas ---
# The organisation's currency: the forecast summary reports in it unless asked for another
# (amounts of different currencies are never added up).
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "EUR").strip().upper()
if not (len(DEFAULT_CURRENCY) == 3 and DEFAULT_CURRENCY.isascii() and DEFAULT_CURRENCY.isalpha()):
    raise RuntimeError("DEFAULT_CURRENCY must be a three-letter ISO 4217 code, e.g. EUR.")
# --- forecast from history ---
# The forecast from history uses a stage's own win rate for an age bucket only when at
# least this many deals were in it; fewer: the stage's configured probability.
HISTORY_MIN_DEALS = int(os.environ.get("HISTORY_MIN_DEALS", 30))
if HISTORY_MIN_DEALS < 1:
    raise RuntimeError("HISTORY_MIN_DEALS must be 1 or more.")
# --- forecast cache ---
# How long the dashboard's numbers stay cached (seconds). Entries are keyed by the forecast
# data version, so a change is visible at once whatever this is; 0 turns caching off (so
# do the tests: their rolled-back writes never bump the version).
# Insights: a rep needs this many deals closed in the range to be ranked among the top
# performers (fewer are listed as "too few deals"); each study can ask for another minimum.
# Rejected and withdrawn candidates are anonymised this many days after the decision.
HIRING_ANONYMISE_AFTER_DAYS = int(os.environ.get("HIRING_ANONYMISE_AFTER_DAYS", 180))
if HIRING_ANONYMISE_AFTER_DAYS < 1:
    raise RuntimeError("HIRING_ANONYMISE_AFTER_DAYS must be 1 or more.")

# A new hire's ramped quota: the percentages of a full monthly quota for their first
# months (the month they start in first), written as monthly quotas when they are hired.
_ramp = os.environ.get("NEW_HIRE_RAMP_PERCENTS", "25,50,75,100")
try:
    NEW_HIRE_RAMP_PERCENTS = [int(p) for p in _ramp.split(",") if p.strip()]
except ValueError:
    NEW_HIRE_RAMP_PERCENTS = []
if not 1 <= len(NEW_HIRE_RAMP_PERCENTS) <= 24 or not all(
    1 <= p <= 100 for p in NEW_HIRE_RAMP_PERCENTS
):
    raise RuntimeError(
        f"NEW_HIRE_RAMP_PERCENTS={_ramp!r}: write 1 to 24 comma-separated whole percentages"
        ", each 1-100, e.g. 25,50,75,100."
    )

INSIGHTS_MIN_CLOSED_DEALS = int(os.environ.get("INSIGHTS_MIN_CLOSED_DEALS", 5))
if INSIGHTS_MIN_CLOSED_DEALS < 1:
    raise RuntimeError("INSIGHTS_MIN_CLOSED_DEALS must be 1 or more.")

FORECAST_CACHE_SECONDS = int(os.environ.get("FORECAST_CACHE_SECONDS", 0 if TESTING else 3600))
if FORECAST_CACHE_SECONDS < 0:
    raise RuntimeError("FORECAST_CACHE_SECONDS must be 0 (off) or more.")

# --- Email -----------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "salesops@localhost")
# Where people reach Salesops: links in emails (invitations to set a password, the daily
# digest) start with it. Set it in production, e.g. https://salesops.example.com.
SITE_URL = os.environ.get("SITE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
SITE_URL = SITE_URL.rstrip("/")
# How long the link of an invitation to set a password works (Django's password reset
# token, salesops.people.invitation_link); it works once either way.
INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", 7))
if INVITATION_DAYS < 1:
    raise RuntimeError("INVITATION_DAYS must be 1 or more.")
PASSWORD_RESET_TIMEOUT = INVITATION_DAYS * 24 * 3600

# --- Security (production) ---------------------------------------------------
# HTTPS only with DEBUG off (check --deploy is clean); a local run (DEBUG=1, `make run`)
# serves plain http on 127.0.0.1. Each can be set from the environment.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Whoever can reach the app directly can send "X-Forwarded-Proto: https" themselves, so the
# header is believed only when configured: the name of the header that the TLS-terminating
# proxy in front sets (overwriting the client's), e.g. TRUSTED_PROXY_SSL_HEADER=X-Forwarded-Proto.
_proxy_header = os.environ.get("TRUSTED_PROXY_SSL_HEADER", "").strip()
if _proxy_header and not re.fullmatch(r"[A-Za-z0-9-]+", _proxy_header):
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_SSL_HEADER={_proxy_header!r}: write the header's name only, "
        "e.g. X-Forwarded-Proto (its value https marks a request as secure)."
    )
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https") if _proxy_header else None
)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Sent on every response (salesops.middleware.SecurityHeadersMiddleware). Our own origin
# only: scripts and styles are files under static/ (no inline <script>, on…= handler or
# style=""; behaviour hangs off data- attributes in static/js/salesops.js), images may be
# data: URIs (Bootstrap's and Swagger UI's icons are), nothing may frame the app.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Powerful browser features the app never uses, off for it and anything it could embed.
# (clipboard-write stays: the API key page's Copy button.) Only names Chromium knows: an
# unknown one is an error in the console.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in [
        "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture",
        "geolocation", "gyroscope", "hid", "magnetometer", "microphone", "midi", "payment",
        "serial", "usb", "xr-spatial-tracking",
    ]
)  # fmt: skip

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's default config gives "django" a console handler of its own and lets it
    # propagate to ours too: every 4xx/5xx line printed twice. One handler: the root's.
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}
