"""Fuzz every operation of /v1/openapi.json with schemathesis against a real agent: valid and invalid
inputs, a bounded number of each. No 5xx, every answer conforms to the document (status codes,
content types, JSON schemas), no traceback in the agent's log, and the agent is alive and `running`
afterwards. Hostile inputs the document cannot describe (deep nesting, non-UTF-8 headers, numbers no Go
type holds) are sent to every route by test_limits.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode

from tests.agentproc import AgentProcess

EXAMPLES = 15  # per operation and generation mode: ~50 operations x 2 modes, about a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples every run: CI failures reproduce
    suppress_health_check=list(HealthCheck),
    phases=[hypothesis.Phase.generate],  # failures are collected, not shrunk
)


@dataclass
class Tally:
    examples: int = 0
    server_errors: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def fuzzed_agent() -> Iterator[AgentProcess]:
    proc = AgentProcess().start()
    yield proc
    proc.close()


def bounded(case: schemathesis.Case) -> schemathesis.Case:
    """A blocking query answers after `wait` (5 minutes by default): keep the fuzz run short."""
    query = case.query if isinstance(case.query, dict) else None
    if query is not None and ({"index", "hash"} & set(query) or "wait" in query):
        query["wait"] = "5ms"
    return case


def fuzz_operation(
    agent: AgentProcess, operation: schemathesis.APIOperation, mode: GenerationMode, tally: Tally
) -> None:
    @SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        response = bounded(case).call(base_url=agent.url, timeout=15)
        tally.examples += 1
        tally.by_status[response.status_code] = tally.by_status.get(response.status_code, 0) + 1
        tally.server_errors += response.status_code >= 500
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as exc:
            tally.failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:600]}")

    run()


@pytest.mark.parametrize("half", [0, 1])
def test_fuzz_every_operation(fuzzed_agent: AgentProcess, half: int) -> None:
    schema = schemathesis.openapi.from_url(fuzzed_agent.url + "/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50
    tally = Tally()
    for operation in operations[half::2]:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(fuzzed_agent, operation, mode, tally)
    print(
        f"fuzz half {half}: {tally.examples} examples, {tally.server_errors} 5xx, statuses {tally.by_status}"
    )
    for failure in tally.failures:
        print(failure, end="\n\n")
    if tally.failures or tally.server_errors:
        print("agent log:", "".join(fuzzed_agent.stderr_lines[-80:]))
    assert [] == tally.failures
    assert 0 == tally.server_errors
    assert tally.examples >= len(operations[half::2]) * EXAMPLES  # every operation was exercised
    assert 200 == fuzzed_agent.get("/status/v1/simple").status
    log = "".join(fuzzed_agent.stderr_lines)  # the status API logs a bad submission at ERROR, as Puppet's
    assert "Traceback" not in log, log[-3000:]
    assert fuzzed_agent.proc is not None
    assert fuzzed_agent.proc.poll() is None
