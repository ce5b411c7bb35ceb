"""Alias checks (§3.4): the health of a local service, its checks plus every node-level check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from muster.checks.base import CheckResult
from muster.models import CRITICAL, PASSING, WARNING, CheckDefinition

if TYPE_CHECKING:
    from muster.state import LocalState


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
            return CheckResult(status, f'Aliased check "{failing.definition.name}" failing: {failing.output}')
    return CheckResult(PASSING, "All checks passing.")
