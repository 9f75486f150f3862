"""The API against its own OpenAPI document, fuzzed with schemathesis.

Every operation in ``/api/v1/schema/`` is called in-process (the WSGI application, no
server) with generated parameters and bodies, once per role's token and once per token
scope. Each response must be below 500 and conform to the document: a documented status
code, a documented content type and a body matching the documented schema.

The run is bounded and derandomised (a fixed seed), so CI sees the same examples on every
run; each example runs in a savepoint that is rolled back, so one example's writes never
change what the next one sees.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from accounts.services import api_token_create
from escalations.models import Page
from incidents.services import incident_create
from tests.escalations.factories_paging import make_policy
from tests.escalations.factories_schedules import make_schedule, rotation

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = {
    "incident_manager": ["read", "write", "intake"],
    "reviewer": ["read", "write", "intake"],
    "responder": ["read", "write", "intake"],
    "lead": ["read", "write", "intake"],
    "analyst": ["read", "write"],
    "admin": ["read", "write", "intake", "admin"],
}
EXAMPLES_PER_ROLE = 2
EXAMPLES_PER_SCOPE = 1


@pytest.fixture
def in_process_wsgi():
    """The WSGI handler closes the connection when a request finishes, which would end the
    test's transaction; Django's test client turns that off the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(make_user):
    """A few real objects, so generated requests can reach them as well as missing ids."""
    manager = make_user("fuzz-manager", role="incident_manager")
    incident = incident_create(
        actor=manager,
        data={"title": "Fuzz target", "summary": "A real incident.", "channel": "internal_detection", "harm_category": "other"},
    )
    schedule = make_schedule(rotations=[rotation([manager])])
    policy = make_policy(name="Fuzz policy", steps=[(5, [("user", manager.pk)])])
    page = Page.objects.order_by("pk").first()
    _, reader = api_token_create(actor=manager, user=manager, name="schema", scopes=["read"])
    return {
        "reader": reader,
        "/api/v1/incidents/": incident.pk,
        "/api/v1/postmortems/": incident.pk,
        "/api/v1/schedules/": schedule.pk,
        "/api/v1/escalation-policies/": policy.pk,
        "/api/v1/pages/": page.pk if page else 1,
    }


def _known_id(path: str, world: dict) -> int | None:
    for prefix, pk in world.items():
        if path.startswith(prefix + "{id}"):
            return pk
    return None


def fuzz_operation(operation, auth: dict[str, str], known: int | None, max_examples: int) -> int:
    """Run one operation's generated examples; returns how many ran."""
    calls: list[int] = []

    @seed(20261123)
    @settings(max_examples=max_examples, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), reach_known=st.booleans())
    def run(case, reach_known):
        if known is not None and reach_known and case.path_parameters is not None and "id" in case.path_parameters:
            case.path_parameters["id"] = known
        calls.append(1)
        with transaction.atomic():
            response = case.call(headers=auth)
            transaction.set_rollback(True)
        case.validate_response(response, checks=CHECKS)

    run()
    return len(calls)


def fuzz_every_operation(app, token: str, world: dict, max_examples: int) -> tuple[int, int]:
    """Run every operation of the schema with ``token``; returns (operations, examples)."""
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app, headers={"Authorization": f"Bearer {world['reader']}"})
    operations = examples = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            examples += fuzz_operation(operation, auth, _known_id(operation.path, world), max_examples)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {_describe(exc)}")
    assert not failures, "\n\n".join(failures)
    return operations, examples


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return " | ".join(_describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {str(exc)[:700]}"


def _token_for(make_user, role: str, scopes: list[str]) -> str:
    extra = {"is_staff": True, "is_superuser": True} if role == "admin" else {}
    user = make_user(f"fuzz-{role}", role=role, **extra)
    _, plaintext = api_token_create(actor=user, user=user, name="fuzz", scopes=scopes)
    return plaintext


@pytest.mark.parametrize("role", list(ROLES))
def test_every_operation_answers_within_its_schema_for_each_role(role, make_user, world, in_process_wsgi):
    token = _token_for(make_user, role, ROLES[role])

    operations, examples = fuzz_every_operation(in_process_wsgi, token, world, EXAMPLES_PER_ROLE)

    assert operations >= 70
    print(f"{role}: {operations} operations, {examples} examples")


@pytest.mark.parametrize("scope", ["read", "write", "intake", "admin"])
def test_every_operation_answers_within_its_schema_for_each_token_scope(scope, make_user, world, in_process_wsgi):
    token = _token_for(make_user, "admin", [scope])

    operations, examples = fuzz_every_operation(in_process_wsgi, token, world, EXAMPLES_PER_SCOPE)

    assert operations >= 70
    print(f"scope {scope}: {operations} operations, {examples} examples")
