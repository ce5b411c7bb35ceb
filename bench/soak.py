"""Soak, full form: mixed traffic with churn (register, deregister, TTL flaps, blocking queries, filters)
at a fixed rate; prints RSS, fds and asyncio tasks as it goes, and fails on any error or leak.

    python bench/soak.py [--minutes 10] [--rate 150]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.soakload import run, verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=150.0, help="operations per second")
    args = parser.parse_args()
    seconds = args.minutes * 60
    result = run(seconds, rate=args.rate, sample_every=10.0, report=True)
    figures = verdict(result, warm_up=min(120.0, seconds / 3))
    for key, value in figures.items():
        print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    for error in result.errors[:20]:
        print("ERROR:", error)
    leaks = (
        figures["rss_growth"] > 0.05
        or figures["fds_end"] > figures["fds_start"] + 5
        or figures["tasks_end"] > figures["tasks_start"] + 10
    )
    return 1 if result.errors or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
