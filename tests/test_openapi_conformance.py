"""The OpenAPI document tells the truth: schemathesis against a real server.

Every operation, with payments, user and admin tokens; a bounded number of generated
requests each. Checks: no server errors, every status and content type declared, every
body matching its declared schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import BaseSchema, Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.openapi import from_url

from tests.server import ServerProcess, env_for, running_server
from wallet.auth.tokens import Role, issue_token
from wallet.config import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 8  # per operation, role and mode (valid and invalid requests)
bounded = hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],  # no shrinking: the failing case is printed as it was sent
    derandomize=True,  # the same cases every run: a failure is reproducible
    database=None,
)


@pytest.fixture(scope="module")
def conformance_server(
    settings: Settings, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = env_for(settings, migration_database_url=database_url)
    # Generated traffic from one address and one subject per role: limits would only add 429s.
    env.update({"WALLET_RATE_LIMIT_USER": "", "WALLET_RATE_LIMIT_PLATFORM": ""})
    log = tmp_path_factory.mktemp("conformance") / "server.log"
    with running_server(env, log=log) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(conformance_server: ServerProcess) -> BaseSchema:
    return from_url(f"{conformance_server.base_url}/openapi.json")


@pytest.mark.parametrize("role", [Role.PAYMENTS, Role.USER, Role.ADMIN], ids=str)
def test_every_operation_answers_as_declared(
    role: Role, api_schema: BaseSchema, settings: Settings, conformance_server: ServerProcess
) -> None:
    token = issue_token(settings=settings, subject=f"conformance-{role.value}", roles=[role])
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    calls = 0
    operations = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation the loader could not read
        operations.append(result.ok())
    assert len(operations) >= 25  # every operation is loaded, not an empty document
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @bounded
            def exercise(case: Case[Any]) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(
                    base_url=conformance_server.base_url, headers=headers, checks=CHECKS
                )

            try:
                exercise()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no inputs
            except Exception as exc:  # every operation's failure is reported, not just the first
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    print(f"\nschemathesis as {role.value}: {calls} requests, {len(failures)} failures")
    assert failures == [], "\n\n".join(failures)
