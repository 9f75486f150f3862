import json
from pathlib import Path

import pytest

from accounts.services import api_token_create

# CI clones the repository next to shared/, so the fixtures sit at ../shared/fixtures.
FIXTURES = (Path(__file__).resolve().parents[2] / "../shared/fixtures").resolve()


def fixture_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def intake_key(make_user):
    """(user, plaintext) of a monitoring sender's API token with only the intake scope."""
    sender = make_user("monitoring")
    _, plaintext = api_token_create(actor=sender, user=sender, name="prometheus", scopes=["intake"])
    return sender, plaintext
