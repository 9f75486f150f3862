"""Settings for the processes of the chaos suite: the test settings with persistent
connections and health checks, as in production (``CONN_MAX_AGE`` 60), so a restarted
Postgres is met by the same connection handling the deployed engine has."""

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
