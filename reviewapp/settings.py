"""Vouch settings: one module, every value from the environment through typed helpers.

Every variable read here is listed in `.env.example`. Helpers raise
ImproperlyConfigured on values they cannot parse, so a typo fails at start-up.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from reviewapp.runtime.local_secrets import (
    AUDIT_KEY_FILE,
    SECRET_KEY_FILE,
    stored_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

# Where uploads, page images and the SQLite file live unless configured otherwise.
VAR_DIR = Path(env_str("VOUCH_VAR_DIR", str(BASE_DIR / "var")))

# A development checkout where `make run` has run keeps its own secrets in VAR_DIR
# (reviewapp.runtime.local_secrets), so management commands find them there.
_secret_key = os.environ.get("SECRET_KEY") or stored_secret(VAR_DIR, SECRET_KEY_FILE)
if not _secret_key:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (in a development checkout, "
            "`make run` once keeps a local one under var/)"
        )
    _secret_key = "insecure-development-key-never-use-in-production"  # noqa: S105
SECRET_KEY = _secret_key

# Encrypts sensitive values (IBAN, VAT id ...) kept in the audit trail and keys
# their digests. Losing it makes those values unreadable; the chain still
# verifies. Only a development install (DEBUG) may fall back to SECRET_KEY.
_audit_key = env_str("VOUCH_AUDIT_KEY", "") or (
    stored_secret(VAR_DIR, AUDIT_KEY_FILE) or ""
)
if not _audit_key:
    if not DEBUG:
        raise ImproperlyConfigured("VOUCH_AUDIT_KEY must be set when DEBUG is off")
    # Hashed, so even a short development SECRET_KEY gives a full-length key.
    _audit_key = (
        "development-audit-key:" + hashlib.sha256(SECRET_KEY.encode()).hexdigest()
    )
if len(_audit_key) < 32:
    raise ImproperlyConfigured("VOUCH_AUDIT_KEY must be at least 32 characters long")
VOUCH_AUDIT_KEY = _audit_key

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])


INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Only for OpClass in index definitions (models.documents.PrefixMatchIndex):
    # it teaches CREATE INDEX to write an operator class after an expression.
    "django.contrib.postgres",
    "channels",
    "django_rq",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "reviewapp",
    "reviewapp.measurement",
]

MIDDLEWARE = [
    # Counts queries of everything below it (off unless VOUCH_QUERY_COUNT_HEADER).
    "reviewapp.query_count.QueryCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "reviewapp.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "reviewapp.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "reviewapp.sessions_control.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "reviewapp.middleware.UnreadableUploadMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "reviewapp.urls"
ASGI_APPLICATION = "reviewapp.asgi.application"

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
            ],
        },
    },
]

_SQLITE_OPTIONS = {
    # Web server, workers and tests write concurrently: WAL + IMMEDIATE avoids
    # "database is locked" on upgrade from read to write.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
}
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
# PostgreSQL: a pool of open connections per process (psycopg_pool). Without
# it every request opens a connection, and PostgreSQL forks a backend and
# reloads its catalogue for it: 5 ms and a burst of server CPU per request.
# Off by default (0); the web server's process files set it (deploy/).
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and (
    DATABASE_POOL_MAX_SIZE
):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them instead
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        # A request waits this long for a free connection, then fails loudly.
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite will not create the folder its file lives in.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = _SQLITE_OPTIONS
    # A file, not :memory:, so a test's daphne and worker processes share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2 is memory-hard, so a stolen hash costs an attacker's GPU far more than
# PBKDF2 does, at a quarter of PBKDF2's CPU per sign-in (see reviewapp.passwords).
# PBKDF2 stays second so hashes made before the switch still verify; Django
# rewrites each as Argon2 at that person's next sign-in.
PASSWORD_HASHERS = [
    "reviewapp.passwords.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
]
LOGIN_URL = "login"
AUTHENTICATION_BACKENDS = [
    # Refuses sign-in while a username + address pair is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Password guessing: after this many failures for one username from one
# address, that pair is locked out for the cool-off; a success resets the count.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Sign-ins are events in the hash-chained audit trail already; axes' own
# access log would write a second, unchained row for each one.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_SENSITIVE_PARAMETERS = ["password"]
# Behind a reverse proxy, the client address is the last one it appends.
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from static/ so `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
# WhiteNoise otherwise notes each file's size once: a stylesheet edited while
# `make run` serves it would be sent with its old length and never finish
# loading. A deployment's files do not change under it, so it stays off there.
WHITENOISE_AUTOREFRESH = env_bool("VOUCH_STATIC_AUTOREFRESH", default=DEBUG)

# Originals and page images are private: no MEDIA_URL, served only by views that
# check permission.
MEDIA_ROOT = Path(env_str("VOUCH_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# Rate-limit counters live in Redis so that every web process shares them.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "vouch:throttle",
    },
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 times socket reads out after 5 s by default, the same as
        # channels_redis's BZPOPMIN wait, which then kills every idle websocket.
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
            "prefix": "vouch:channels:",
        },
    }
}

JOB_SERIALIZER = "rq.serializers.JSONSerializer"
RQ_QUEUES = {
    "default": {
        "URL": REDIS_URL,
        "DEFAULT_TIMEOUT": 600,
        "SERIALIZER": JOB_SERIALIZER,
    },
    # Retraining has a queue and a worker of its own (make run starts it at
    # a lower CPU priority), so documents are read while a model trains.
    "retrain": {
        "URL": REDIS_URL,
        "DEFAULT_TIMEOUT": 3 * 3600,
        "SERIALIZER": JOB_SERIALIZER,
    },
}
RQ = {
    "COMMIT_MODE": "on_db_commit",
    "WORKER_CLASS": "reviewapp.runtime.worker.DocumentWorker",
}

# Document intake limits. Checked at upload (size, type, pixels) and again in the
# worker (pages), so a hostile file is refused before anything decodes it in full.
VOUCH_MAX_UPLOAD_BYTES = env_int("VOUCH_MAX_UPLOAD_BYTES", 25 * 1024 * 1024)
VOUCH_MAX_PAGES = env_int("VOUCH_MAX_PAGES", 50)
VOUCH_MAX_PIXELS = env_int("VOUCH_MAX_PIXELS", 60_000_000)
# An image scoring below this (0-100, pipeline.quality) at capture waits for a
# new copy instead of being read; 0 reads everything.
VOUCH_CAPTURE_MIN_QUALITY = env_int("VOUCH_CAPTURE_MIN_QUALITY", 50)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# An IMAP mailbox Vouch reads (`manage.py fetch_imap`; make run starts it when a
# host is set): the same rules as the Maildir reader.
VOUCH_IMAP_HOST = env_str("VOUCH_IMAP_HOST", "")
VOUCH_IMAP_PORT = env_int("VOUCH_IMAP_PORT", 993)
VOUCH_IMAP_USER = env_str("VOUCH_IMAP_USER", "")
VOUCH_IMAP_PASSWORD = env_str("VOUCH_IMAP_PASSWORD", "")
VOUCH_IMAP_FOLDER = env_str("VOUCH_IMAP_FOLDER", "INBOX")
VOUCH_IMAP_SSL = env_bool("VOUCH_IMAP_SSL", default=True)
VOUCH_IMAP_INTERVAL = env_int("VOUCH_IMAP_INTERVAL", 60)

# Processing jobs.
VOUCH_JOB_TIMEOUT = env_int("VOUCH_JOB_TIMEOUT", 600)
VOUCH_JOB_MAX_ATTEMPTS = env_int("VOUCH_JOB_MAX_ATTEMPTS", 3)
VOUCH_JOB_RETRY_DELAYS = [30, 120]
# A scanned document with at least this many pages to OCR is read one page per
# job, so several workers share it (reviewapp.services.page_jobs); 0: never.
VOUCH_PAGE_JOBS_MIN_PAGES = env_int("VOUCH_PAGE_JOBS_MIN_PAGES", 2)
# A file found to hold several documents waits for a person to confirm the
# split unless every page's decision is at least this sure (percent; above
# 100: always a person). See reviewapp.services.splitting.
VOUCH_SPLIT_AUTO_CONFIDENCE = env_int("VOUCH_SPLIT_AUTO_CONFIDENCE", 97)
# A document queued or processing for longer than this is re-enqueued by
# `requeue_stale` (the cron runs it every few minutes).
VOUCH_STALE_AFTER_SECONDS = env_int("VOUCH_STALE_AFTER_SECONDS", 900)

# Labelled dev documents (manifests) for training and evaluation commands.
VOUCH_DATASETS = env_str("VOUCH_DATASETS", str(BASE_DIR.parent / "shared" / "datasets"))

# The address people reach Vouch at, for links in mail replies.
VOUCH_BASE_URL = env_str("VOUCH_BASE_URL", "http://127.0.0.1:8000")

# Outgoing mail (replies to emailed documents). Without EMAIL_HOST, mail is
# written to the console, which is what a development machine wants.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Vouch <vouch@localhost>")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

# Below this classifier confidence (percent) a person confirms what kind of
# document it is before anything is approved.
VOUCH_CLASSIFY_MIN_CONFIDENCE = (
    env_int("VOUCH_CLASSIFY_MIN_CONFIDENCE_PERCENT", 90) / 100
)

# Webhooks: seconds to wait for a receiver, and the pauses between retries (one
# first attempt plus one retry per entry).
VOUCH_WEBHOOK_TIMEOUT = env_int("VOUCH_WEBHOOK_TIMEOUT", 10)
VOUCH_WEBHOOK_RETRY_DELAYS = [30, 120, 600, 1800, 7200]

# Review. A claim keeps other reviewers from editing a document for this long;
# working on it renews the claim. Fields below their threshold are flagged (a
# document's stored review reason follows at its next field change).
VOUCH_CLAIM_MINUTES = env_int("VOUCH_CLAIM_MINUTES", 30)

# Operations: /health/ answers 503 once this many jobs wait; /metrics answers
# a request carrying `Authorization: Bearer <VOUCH_METRICS_TOKEN>` or coming
# from an address in VOUCH_METRICS_ALLOWED_IPS (addresses or networks, e.g.
# 10.0.0.0/8); with neither set, nobody.
VOUCH_HEALTH_MAX_QUEUE_DEPTH = env_int("VOUCH_HEALTH_MAX_QUEUE_DEPTH", 500)
VOUCH_METRICS_TOKEN = env_str("VOUCH_METRICS_TOKEN", "")
VOUCH_METRICS_ALLOWED_IPS = env_list("VOUCH_METRICS_ALLOWED_IPS", [])
for _network in VOUCH_METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"VOUCH_METRICS_ALLOWED_IPS: {_network!r} is not an address or network"
        ) from None
# Dashboard SLAs: how long a document may wait in each queue before its age
# shows amber (three quarters used) and then red.
VOUCH_SLA_PROCESSING_MINUTES = env_int("VOUCH_SLA_PROCESSING_MINUTES", 15)
VOUCH_SLA_REVIEW_HOURS = env_int("VOUCH_SLA_REVIEW_HOURS", 24)
VOUCH_SLA_EXCEPTIONS_HOURS = env_int("VOUCH_SLA_EXCEPTIONS_HOURS", 48)
VOUCH_SLA_EXPORT_HOURS = env_int("VOUCH_SLA_EXPORT_HOURS", 24)
# Set, one threshold for every field instead of the per-field ones (calibrated,
# or set by an administrator; see reviewapp.thresholds); unset or 0, per field.
VOUCH_FLAG_BELOW_CONFIDENCE = (
    env_int("VOUCH_FLAG_BELOW_CONFIDENCE_PERCENT", 0) / 100 or None
)

# Routing (reviewapp/routing.py). A document of these types whose fields are all
# sure and whose checks all pass is approved without a person, up to this total
# (in the document's currency). Above the supervisor limit only a supervisor
# approves, whatever the checks say.
VOUCH_STRAIGHT_THROUGH_DOCUMENT_TYPES = env_list(
    "VOUCH_STRAIGHT_THROUGH_DOCUMENT_TYPES", ["invoice"]
)
VOUCH_STRAIGHT_THROUGH_MAX_AMOUNT = env_int("VOUCH_STRAIGHT_THROUGH_MAX_AMOUNT", 1000)
VOUCH_SUPERVISOR_AMOUNT_LIMIT = env_int("VOUCH_SUPERVISOR_AMOUNT_LIMIT", 10000)

# Retention (reviewapp/retention.py): days a document is kept after it arrives,
# per document type, unless an administrator set a policy (Django admin ->
# Retention policies); then `purge_expired` deletes its content.
VOUCH_RETENTION_DAYS = {
    "invoice": env_int("VOUCH_RETENTION_INVOICE_DAYS", 3653),  # 10 years
    "credit_note": env_int("VOUCH_RETENTION_CREDIT_NOTE_DAYS", 3653),
    "receipt": env_int("VOUCH_RETENTION_RECEIPT_DAYS", 2557),  # 7 years
}
# For a document whose type is not (yet) known.
VOUCH_RETENTION_DEFAULT_DAYS = env_int("VOUCH_RETENTION_DEFAULT_DAYS", 3653)

# Engines, by dotted path (see pipeline/ocr and pipeline/extract).
# PP-OCRv6 tiny on ONNX Runtime reads receipts and dense pages with fewer errors
# than PaddleOCR's PP-OCRv4, in a third of the CPU time and half the memory
# (README, "OCR engines"); pipeline.ocr.paddle.PaddleOcrEngine stays supported.
VOUCH_OCR_ENGINE = env_str("VOUCH_OCR_ENGINE", "pipeline.ocr.onnx.OnnxOcrEngine")
# The calibrated heuristic extractor with the fields the trained scorer reads
# better replaced by its picks (pipeline/models/field_scorer.json); an active
# extractor version (admin page, `retrain`) replaces this setting's model.
# pipeline.extract.calibration.CalibratedExtractor is the rules alone, and the
# raw pipeline.extract.heuristic.HeuristicExtractor is what calibration is fitted on.
# The retrain gate judges a candidate on held-back corrected documents only
# when there are at least this many (pipeline.extract.scorer_gate).
VOUCH_GATE_MIN_HELD_BACK = env_int("VOUCH_GATE_MIN_HELD_BACK", 30)
VOUCH_EXTRACTOR = env_str("VOUCH_EXTRACTOR", "pipeline.extract.scorer.ScoredExtractor")

# REST API: tokens for machines (an ERP, scripts), the session for the browser.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "reviewapp.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per person; see reviewapp/api/throttling.py. A refusal is a 429 with
    # Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["reviewapp.api.throttling.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": env_str("VOUCH_API_THROTTLE_RATE", "1200/minute"),
        "upload": env_str("VOUCH_UPLOAD_THROTTLE_RATE", "120/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Vouch API",
    "DESCRIPTION": (
        "Upload documents, read their extracted fields and status. Authenticate "
        "with `Authorization: Token <key>` (`manage.py api_token USERNAME`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like every page, the schema is for signed-in users and API clients only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}
# Validation tolerances (pipeline.validate.types.Tolerances); a purchase order's
# own tolerances override the PO ones.
VOUCH_INVOICE_MAX_AGE_DAYS = env_int("VOUCH_INVOICE_MAX_AGE_DAYS", 730)
VOUCH_DUPLICATE_WINDOW_DAYS = env_int("VOUCH_DUPLICATE_WINDOW_DAYS", 14)
VOUCH_PO_PRICE_TOLERANCE_PERCENT = env_int("VOUCH_PO_PRICE_TOLERANCE_PERCENT", 2)
VOUCH_PO_QUANTITY_TOLERANCE_PERCENT = env_int("VOUCH_PO_QUANTITY_TOLERANCE_PERCENT", 0)

# Every handler masks IBAN- and VAT-id-shaped values (reviewapp.audit.log_masking);
# "django" gets our handlers instead of Django's default unfiltered ones.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_sensitive": {"()": "reviewapp.audit.log_masking.SensitiveValueFilter"},
        "redact_secrets": {"()": "reviewapp.audit.log_secrets.SecretRedactingFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_sensitive", "redact_secrets"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "mask_sensitive", "redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        # runserver's request lines carry query strings: through the filter too.
        "django.server": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
        },
        "ppocr": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
# The technical 500 page (DEBUG) and the admins' error email, masked the same way.
DEFAULT_EXCEPTION_REPORTER = "reviewapp.audit.log_masking.SensitiveExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = (
    "reviewapp.audit.log_masking.SensitiveExceptionReporterFilter"
)

# Sessions end after this long without a request (reviewapp/sessions_control.py).
SESSION_COOKIE_AGE = env_int("VOUCH_SESSION_IDLE_MINUTES", 30) * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Browser-facing headers on every response (also reviewapp/security_headers.py
# for the Content-Security-Policy): no MIME sniffing, no framing, the referrer
# only to this site.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Load benchmark only: each response says how many queries it made.
VOUCH_QUERY_COUNT_HEADER = env_bool("VOUCH_QUERY_COUNT_HEADER", default=False)

# Production profile (README, "Running in production"): Vouch behind a reverse
# proxy that terminates HTTPS. VOUCH_HTTPS=1 turns on HTTPS redirects, HSTS,
# secure cookies and trusts the proxy's X-Forwarded-Proto; `check --deploy`
# then reports nothing. SECURE_COOKIES=1 (older name) means the same.
VOUCH_HTTPS = env_bool("VOUCH_HTTPS", default=env_bool("SECURE_COOKIES", default=False))
if VOUCH_HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool(
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
    )
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Only behind a proxy that sets this header itself and strips a client's.
    if env_bool("VOUCH_BEHIND_PROXY", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
