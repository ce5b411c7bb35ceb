"""Soak, short form (bench/soak.py --minutes 10 is the full one): mixed traffic with churn at a fixed rate
for about a minute; 0 errors, RSS flat after warm-up, no leaked file descriptors or asyncio tasks."""

from __future__ import annotations

from tests.reliability.soakload import run, verdict

SECONDS, WARM_UP = 75.0, 25.0


def test_a_minute_of_mixed_traffic_leaks_nothing() -> None:
    result = run(SECONDS, rate=150.0, sample_every=5.0)
    figures = verdict(result, WARM_UP)
    print(f"soak: {figures}")
    assert [] == result.errors[:10]
    assert figures["ops"] >= SECONDS * 150 * 0.8  # the rate was really held
    assert figures["blocking_answers"] > 0
    assert figures["rss_growth"] <= 0.05, figures
    assert figures["fds_end"] <= figures["fds_start"] + 5, figures
    assert figures["tasks_end"] <= figures["tasks_start"] + 10, figures
