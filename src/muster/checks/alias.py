"""Alias checks (§3.4): the health of a local service, its checks plus every node-level check.

Consul's texts, but a failing check is named without its output (`Aliased check "<name>" failing`,
where Consul appends `: <output>`): the alias may sit on a service a token can read while the aliased
one is hidden from it, and a check's output can carry anything (docs/differences.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from muster.checks.base import CheckResult
from muster.models import CRITICAL, PASSING, WARNING, CheckDefinition

if TYPE_CHECKING:
    from muster.agent.state import LocalState


def evaluate_alias(state: LocalState, definition: CheckDefinition) -> CheckResult:
    namespace = definition.namespace
    target = definition.alias_service
    node = definition.alias_node if definition.alias_node != state.node_name else ""
    if target and (node or state.service(namespace, target) is None):
        return CheckResult(CRITICAL, f"Service {target} could not be found on node {node}")
    relevant = [
        check
        for check in (state.checks_of(namespace, target) if target else []) + state.node_checks_in(namespace)
        if check.definition.check_id != definition.check_id
    ]
    if not relevant:
        return CheckResult(PASSING, "No checks found.")
    for status in (CRITICAL, WARNING):
        failing = next((check for check in relevant if check.status == status), None)
        if failing is not None:
            return CheckResult(status, f'Aliased check "{failing.definition.name}" failing')
    return CheckResult(PASSING, "All checks passing.")
