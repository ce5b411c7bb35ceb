"""Crash consistency, full form: 16 clients register and deregister as fast as they can while the agent
is killed with SIGKILL at random moments, 20 rounds; prints acknowledged / lost (must be 0 lost).

    python bench/crash.py [--rounds 20] [--clients 16] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.crashload import run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    totals = run(args.rounds, clients=args.clients, seed=args.seed)
    print(f"acknowledged {totals.acknowledged} / lost {totals.lost}")
    print(f"half-present {totals.half_present}, in flight at a kill {totals.unacknowledged}")
    for problem in totals.problems:
        print("PROBLEM:", problem)
    return 0 if not totals.problems and totals.lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
