"""Crash consistency, short form (bench/crash.py runs 20 rounds): 16 clients write while the agent is
killed with SIGKILL at random moments; every acknowledged change survives and nothing is half-present."""

from __future__ import annotations

from tests.reliability.crashload import Client, Op, Totals, reconcile, run

ROUNDS = 5


def test_acknowledged_changes_survive_kill9_and_nothing_is_half_present() -> None:
    totals = run(ROUNDS, clients=16, seed=9)
    print(
        f"crash: {totals.rounds} rounds, acknowledged {totals.acknowledged}, lost {totals.lost}, "
        f"half-present {totals.half_present}, in flight {totals.unacknowledged}"
    )
    assert [] == totals.problems
    assert (0, 0) == (totals.lost, totals.half_present)
    assert ROUNDS == totals.rounds
    assert totals.acknowledged >= ROUNDS * 16  # the clients really wrote in every round


def test_the_checker_counts_an_acknowledged_change_that_is_missing() -> None:
    client = Client("c0", 0, {"c0-1": 2, "c0-2": 1}, seed=0)  # acknowledged: c0-1 v2, c0-2 v1
    client.ops = [Op("register", "c0-1", 2, acked=True), Op("deregister", "c0-2", 0)]
    totals = Totals()
    reconcile([client], {"c0-1": 1, "c0-2": 1}, totals)  # found v1; the in-flight deregister undone
    assert (1, 1) == (totals.lost, totals.acknowledged)
    assert ["c0-1: acknowledged v2, found v1"] == totals.problems
    assert {"c0-1": 2, "c0-2": 1} == client.present  # the in-flight op resolved to what the agent has
