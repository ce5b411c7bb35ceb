"""LocalState: per-namespace caches hold only namespaces that have services, and checks follow their
service's name."""

from __future__ import annotations

import tracemalloc

from muster.agent.state import LocalState
from muster.models import CRITICAL, Check, CheckDefinition, Service


def _state_with_web() -> LocalState:
    state = LocalState("node", "dc1")
    state.put_service(Service(id="web-1", name="web"))
    return state


def test_reads_of_unknown_namespaces_answer_empty_and_keep_nothing() -> None:
    state = _state_with_web()
    state.list_body("default")  # a namespace with services is cached as before
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    answers = {
        (
            state.list_body(f"ns{i}"),
            len(state.services_in(f"ns{i}")),
            len(state.services_named(f"ns{i}", "web")),
        )
        for i in range(5000)
    }
    grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()

    assert {(b"{}", 0, 0)} == answers
    assert grown < 64 * 1024, grown  # was ~230 bytes per distinct namespace: ~1.1 MiB here


def test_the_last_service_of_a_namespace_leaves_no_cache_behind() -> None:
    state = LocalState("node", "dc1")
    state.put_service(Service(id="a", name="a", namespace="team"))
    assert b'{"a":' == state.list_body("team")[:5]
    state.remove_service("team", "a")

    assert (b"{}", []) == (state.list_body("team"), state.services_in("team"))


def test_checks_take_their_services_new_name() -> None:
    state = _state_with_web()
    definition = CheckDefinition(check_id="c", name="c", service_id="web-1")
    state.put_check(Check(definition=definition, status=CRITICAL, service_name="web"))

    state.put_service(Service(id="web-1", name="db", tags=["x"]))

    check = state.checks[("default", "c")]
    assert ("db", ["x"]) == (check.service_name, check.service_tags)
