"""The one place that reads the process environment (12-factor)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for development only; real deployments set variables.
_dotenv = BASE_DIR / ".env"
if _dotenv.exists():
    environ.Env.read_env(str(_dotenv))


def group_map(text: str) -> dict[str, list[str]]:
    """``"idp-group=value; other=value2,value3"`` → {"idp-group": ["value"], ...}: how the
    identity provider's groups map onto roles and compartments (``OIDC_ROLE_MAP``,
    ``OIDC_COMPARTMENT_MAP``). A malformed entry stops start-up rather than being skipped."""
    mapping: dict[str, list[str]] = {}
    for raw in (text or "").split(";"):
        entry = raw.strip()
        if not entry:
            continue
        group, sep, values = entry.partition("=")
        if not sep or not group.strip() or not values.strip():
            raise ValueError(f"'{entry}' is not of the form idp-group=value[,value]")
        mapping.setdefault(group.strip(), []).extend(v.strip() for v in values.split(",") if v.strip())
    return mapping
