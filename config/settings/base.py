"""Settings shared by every environment. Values that differ come from config.env."""

from datetime import timedelta

from config.env import BASE_DIR, env, group_map

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "core",
    "accounts",
    "incidents",
    "escalations",
    "postmortems",
    "integrations",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "core.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.UserTimezoneMiddleware",
    "core.middleware.ApplicationErrorMiddleware",
    "accounts.middleware.AdminOTPRequiredMiddleware",
    # Axes must be last: it inspects the response of the login view.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "core.context_processors.firebreak",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/firebreak"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# JIT compilation costs hundreds of milliseconds on short OLTP queries (measured on the
# full-text list) and never pays back at this query size.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Single sign-on with OpenID Connect (mozilla-django-oidc), off unless a client id is set.
# Local accounts keep working beside it. See README "Single sign-on".
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid email profile")
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", default="groups")
OIDC_ROLE_MAP = group_map(env("OIDC_ROLE_MAP", default=""))
OIDC_COMPARTMENT_MAP = group_map(env("OIDC_COMPARTMENT_MAP", default=""))
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="single sign-on")
OIDC_CLOCK_SKEW_SECONDS = 60
OIDC_TIMEOUT = 10
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:sso-callback"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"
FIREBREAK_SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
if FIREBREAK_SSO_ENABLED:
    AUTHENTICATION_BACKENDS.insert(1, "accounts.oidc.FirebreakOIDCBackend")
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
MEDIA_URL = "/media/"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("REDIS_URL", default="redis://127.0.0.1:6379/0"),
    }
}

# --- sessions and cookies -----------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)  # one long shift
SESSION_SAVE_EVERY_REQUEST = True  # idle timeout rather than absolute
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free meta tag instead
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- content security policy (django-csp 4) -------------------------------------
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- login lockout (django-axes): lock the username+IP pair, not the whole proxy IP ---
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: DRF then answers 401 (with WWW-Authenticate) for a bad token.
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.DeclaredPermissions"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.StrictJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "core.api.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "intake": env("INTAKE_RATE", default="120/min"),
        "token_failure": env("TOKEN_FAILURE_RATE", default="30/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Firebreak API",
    "DESCRIPTION": "Incident management for Trust & Safety rapid response.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api.schema.add_problem_responses"],
    "ENUM_NAME_OVERRIDES": {"IncidentStatusEnum": "incidents.models.Status", "IncidentSeverityEnum": "incidents.models.Severity"},
}
# Choice sets that share a field name ("status", "kind") need a name each in the schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "PostMortemStatusEnum": "postmortems.models.PostMortemStatus",
        "ActionItemStatusEnum": "postmortems.models.ActionItemStatus",
        "TaskStatusEnum": "incidents.models_collab.TaskStatus",
        "MitigationKindEnum": "incidents.models_collab.MitigationKind",
        "EvidenceKindEnum": "incidents.models_collab.EvidenceKind",
        # One name for a choice set whether a field holds one value or a list of them.
        "ChannelEnum": "incidents.models.Channel",
        "RegionEnum": "accounts.models.Region",
    }
)

# --- Celery -----------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=env("REDIS_URL", default="redis://127.0.0.1:6379/0"))
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE["core.audit_ensure_partitions"] = {"task": "core.audit_ensure_partitions", "schedule": timedelta(days=1)}
CELERY_BEAT_SCHEDULE["core.audit_apply_retention"] = {"task": "core.audit_apply_retention", "schedule": timedelta(days=1)}
CELERY_BEAT_SCHEDULE["escalations.engine_tick"] = {
    "task": "escalations.engine_tick",
    "schedule": 1.0,
    "options": {"queue": "engine", "expires": 2},
}
CELERY_BEAT_SCHEDULE["escalations.deliver_due"] = {
    "task": "escalations.deliver_due",
    "schedule": 1.0,
    "options": {"queue": "delivery", "expires": 2},
}
CELERY_BEAT_SCHEDULE["escalations.engine_audit"] = {
    "task": "escalations.engine_audit",
    "schedule": 60.0,
    "options": {"queue": "engine", "expires": 50},
}
CELERY_BEAT_SCHEDULE["escalations.engine_watchdog"] = {
    "task": "escalations.engine_watchdog",
    "schedule": 60.0,
    "options": {"queue": "delivery", "expires": 50},
}
CELERY_BEAT_SCHEDULE["escalations.schedule_spans_refresh"] = {
    "task": "escalations.schedule_spans_refresh",
    "schedule": timedelta(hours=1),
    "options": {"expires": 3000},
}
CELERY_BEAT_SCHEDULE["escalations.handoff_notices"] = {
    "task": "escalations.handoff_notices",
    "schedule": 60.0,
    "options": {"queue": "delivery", "expires": 50},
}
CELERY_BEAT_SCHEDULE["postmortems.reminders_tick"] = {"task": "postmortems.reminders_tick", "schedule": 60.0, "options": {"expires": 50}}
CELERY_BEAT_SCHEDULE["integrations.mail_poll"] = {"task": "integrations.mail_poll", "schedule": 60.0, "options": {"expires": 50}}
CELERY_BEAT_SCHEDULE["dashboards.rollups_refresh"] = {"task": "dashboards.rollups_refresh", "schedule": 300.0, "options": {"expires": 240}}

# --- email ---------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="firebreak@example.org")

# --- Firebreak ------------------------------------------------------------------------
FIREBREAK_BASE_URL = env("FIREBREAK_BASE_URL", default="http://127.0.0.1:8000")
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=400)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=25 * 1024 * 1024)
EVIDENCE_REVEAL_WINDOW_MINUTES = env.int("EVIDENCE_REVEAL_WINDOW_MINUTES", default=30)  # a revealed graphic file stays servable this long
WELLBEING_DAILY_CAP = env.int("WELLBEING_DAILY_CAP", default=50)  # until an admin sets one on /wellbeing/

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
FIREBREAK_ADMIN_OTP_REQUIRED = env.bool("FIREBREAK_ADMIN_OTP_REQUIRED", default=True)
OTP_TOTP_ISSUER = "Firebreak"
# Paging delivery: webhook timeout, and how long a claimed outgoing message waits for an outcome before it is sent again.
FIREBREAK_WEBHOOK_TIMEOUT = env.float("FIREBREAK_WEBHOOK_TIMEOUT", default=10.0)
FIREBREAK_DELIVERY_CLAIM_SECONDS = env.int("FIREBREAK_DELIVERY_CLAIM_SECONDS", default=60)
