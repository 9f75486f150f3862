"""The embedded default of `make run`: embedded PostgreSQL, filesystem broker, demo users."""

from config.env import BASE_DIR, env

from .base import *  # noqa: F403
from .base import CELERY_BEAT_SCHEDULE  # noqa: F401

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-not-for-production-use-000000")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
DEMO_PASSWORD = "firebreak-demo"  # only ever defined here

RUN_DIR = BASE_DIR / ".run"
_broker = RUN_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "processed_folder": str(_broker / "processed"),
        "control_folder": str(_broker / "control"),
        "store_processed": False,
    }
CACHES = {
    "default": {
        "BACKEND": env("CACHE_BACKEND", default="django.core.cache.backends.locmem.LocMemCache"),
        "LOCATION": env("CACHE_LOCATION", default="firebreak"),
    }
}
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(RUN_DIR / "mail")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(RUN_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FIREBREAK_ADMIN_OTP_REQUIRED = env.bool("FIREBREAK_ADMIN_OTP_REQUIRED", default=False)  # demo admin signs in without a phone
