"""Checks applied to the local state, and every listener told of each change (the check runner, the
reaper's clocks): the one path by which a check enters or leaves the agent's memory."""

from __future__ import annotations

from collections.abc import Callable

from muster.agent.state import LocalState
from muster.models import CRITICAL, Check, CheckDefinition, Service

CheckListener = Callable[[CheckDefinition | None, str, str], None]  # definition (None: removed), ns, ID


class CheckTable:
    def __init__(self, state: LocalState) -> None:
        self.state = state
        self.listeners: list[CheckListener] = []

    def put(self, definition: CheckDefinition, service: Service | None = None) -> None:
        """Add or replace a check; an existing check keeps its status and output (§3.7)."""
        key = (definition.namespace, definition.check_id)
        existing = self.state.checks.get(key)
        if service is None and definition.service_id:
            entry = self.state.service(definition.namespace, definition.service_id)
            service = entry.service if entry is not None else None
        check = Check(
            definition=definition,
            status=existing.status if existing else (definition.status or CRITICAL),
            output=existing.output if existing else "",
            service_name=service.name if service else "",
            # The service's own list, shared: never changed in place (a re-registration replaces it),
            # and a copy per check made memory tags x checks.
            service_tags=(service.tags or None) if service else [],
        )
        self.state.put_check(check)
        for listener in self.listeners:
            listener(definition, definition.namespace, definition.check_id)

    def remove(self, namespace: str, check_id: str) -> None:
        self.state.remove_check(namespace, check_id)
        for listener in self.listeners:
            listener(None, namespace, check_id)
