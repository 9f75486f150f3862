"""Before the suite: the real PostgreSQL and Redis must answer. Never fall back to SQLite."""

import os
import socket
import sys
from urllib.parse import urlparse

SERVICES = {
    "PostgreSQL": (
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/firebreak"),
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    "Redis": (
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    ),
}


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=3):
            return True
    except OSError:
        return False


def main() -> int:
    down = [(name, url, how) for name, (url, how) in SERVICES.items() if not reachable(url)]
    for name, url, how in down:
        sys.stderr.write(f"{name} does not answer at {urlparse(url).hostname}:{urlparse(url).port}.\n  Start it with: {how}\n")
    if down:
        sys.stderr.write("The suite runs only against the real services (no SQLite fallback).\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
