"""The benchmark suite: every figure measured with real processes on loopback, beside its comparison
measured in the same run, with the goal from issue 9. Prints one Markdown table and appends the run to
bench/history.jsonl.

Run: python bench/run.py [--quick] [--only http,registration,blocking,checks,startup]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil

import blocking
import checks
import http_endpoints
import registration
import startup
from harness import ROOT, Row

HISTORY = Path(__file__).resolve().parent / "history.jsonl"
SECTIONS = ("http", "registration", "blocking", "checks", "startup")


def suites(quick: bool) -> dict[str, Callable[[], list[Row]]]:
    return {
        "http": lambda: http_endpoints.run(seconds=3 if quick else 10),
        "registration": lambda: registration.run(seconds=4 if quick else 10, rounds=1 if quick else 3),
        "blocking": lambda: blocking.run(waiters=10_000),
        "checks": lambda: checks.run(seconds=20 if quick else 60),
        "startup": lambda: startup.run(services=10_000),
    }


def machine() -> dict[str, object]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() + ("+dirty-src" if dirty.stdout.strip() else "")


def _num(value: float, unit: str) -> str:
    if unit in ("req/s", "reg/s"):
        return f"{value:,.0f} {unit}"
    if unit == "core":
        return f"{value:.3f} core"
    return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | Muster | compared with | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours = _num(row.value, row.unit) + (f" ({row.detail})" if row.detail else "")
        theirs = "—"
        if row.versus_value is not None:
            theirs = f"{row.versus}: {_num(row.versus_value, row.unit)}"
            theirs += f" ({row.versus_detail})" if row.versus_detail else ""
        ratio = "—" if row.ratio is None else f"**{row.ratio:.2f}**"
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        lines.append(f"| {row.figure} | {ours} | {theirs} | {ratio} | {row.goal} | {met} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter measurements (noisier)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated: {','.join(SECTIONS)}")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    blocking.raise_nofile()
    host = machine()
    started = time.monotonic()
    rows: list[Row] = []
    runners = suites(args.quick)
    for name in chosen:
        print(f"[{name}] running...", flush=True)
        section = runners[name]()
        for row in section:
            row.key = f"{name}: {row.key}"
        rows += section
    record = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "quick": args.quick,
        "sections": chosen,
        "machine": host,
        "seconds": round(time.monotonic() - started),
        "figures": {
            row.key: {
                "value": round(row.value, 3),
                "unit": row.unit,
                "versus": None if row.versus_value is None else round(row.versus_value, 3),
                "ratio": None if row.ratio is None else round(row.ratio, 3),
                "met": row.met,
            }
            for row in rows
        },
    }
    with HISTORY.open("a") as history:
        history.write(json.dumps(record) + "\n")
    print()
    print(
        f"Machine: {host['cpu']}, {host['cores']} cores, {host['ram_gib']} GiB, load average before "
        f"{' / '.join(str(x) for x in host['load_average'])}; commit {record['commit']}"  # type: ignore[union-attr]
    )
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
