"""Settings for `make bench`: the test settings (DEBUG off, real Postgres and Redis) with
the benchmark database, persistent connections as in production, and the bench URL conf
that adds the minimal baseline view."""

import warnings

from config.env import env
from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DEBUG = False
ROOT_URLCONF = "bench.urls"
DATABASES["default"]["NAME"] = env("BENCH_DATABASE_NAME", default="firebreak_bench")
DATABASES["default"]["CONN_MAX_AGE"] = 60
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# Static files are not measured; an absent collectstatic directory is expected.
warnings.filterwarnings("ignore", message="No directory at")
