"""The `?filter=` engine on its own: nanoseconds per service for three-clause filters over 10,000
AgentService values, and the parse time of a 10,000-character expression nested 100 parentheses deep.

Run: PYTHONPATH=src python bench/filter_bench.py [--services 10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from muster.filter import SCHEMAS, compile_filter
from muster.filter.parser import parse, parse_exact

FILTERS = [
    'Service == "web" and Port == 8080 and "primary" in Tags',
    'Meta.env == "prod" and Tags contains "v1" or Weights.Passing != 1',
    'Kind == "connect-proxy" and Proxy.Upstreams.DestinationName == "db" and Meta is not empty',
    'Service matches "^web" and Meta.env == "prod" and not (Port == 1)',
    'Service matches "^(web|api)-[0-9]+$" and Meta.env == "prod" and Port != 1',
]


def services(count: int) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []
    for i in range(count):
        name = ("web", "api", "db", "cache")[i % 4]
        service: dict[str, Any] = {
            "ID": f"{name}-{i}",
            "Service": f"{name}-{i % 50}" if i % 3 else name,
            "Tags": ["primary", "v1"] if i % 2 == 0 else ["v2"],
            "Meta": {"env": "prod" if i % 5 else "qa", "version": f"1.{i % 7}"},
            "Port": 8080 if i % 4 == 0 else 9000 + i % 100,
            "Address": f"10.0.{i // 256 % 256}.{i % 256}",
            "Weights": {"Passing": 1, "Warning": 1},
            "EnableTagOverride": False,
            "Datacenter": "dc1",
        }
        if i % 10 == 0:
            service["Kind"] = "connect-proxy"
            service["Proxy"] = {
                "DestinationServiceName": name,
                "Upstreams": [{"DestinationName": "cache"}, {"DestinationName": "db" if i % 20 else "x"}],
                "MeshGateway": {},
                "Expose": {},
            }
        made.append(service)
    return made


def nested_expression(levels: int, length: int) -> str:
    inner = 'Service == "web"'
    for level in range(levels):
        inner = f'(Meta.env == "prod" and Port != {level} or ({inner}) and "primary" in Tags)'
    while len(inner) < length:
        inner += " or Weights.Passing == 1"
    return inner


def best(repeat: int, function: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    values = services(args.services)
    schema = SCHEMAS["AgentService"]

    print(f"{'filter':<92} {'kept':>6} {'ms total':>9} {'ns/service':>11}")
    for expression in FILTERS:
        compiled = compile_filter(expression, schema)
        seconds = best(args.repeat, partial(compiled.filter, values))
        kept = len(compiled.filter(values))
        print(f"{expression:<92} {kept:>6} {seconds * 1e3:>9.2f} {seconds * 1e9 / len(values):>11.0f}")

    deep = nested_expression(100, 10_000)
    print(f"\nexpression of {len(deep)} characters, 100 levels of parentheses:")
    print(f"  parse                    {best(args.repeat, lambda: parse(deep)) * 1e3:8.2f} ms")
    print(f"  parse, exact parser only {best(args.repeat, lambda: parse_exact(deep)) * 1e3:8.2f} ms")
    print(
        f"  compile_filter           {best(args.repeat, lambda: compile_filter(deep, schema)) * 1e3:8.2f} ms"
    )
    broken = deep[:-1]  # one ")" short: the error path, with go-bexpr's expected-list
    print(f"  parse, unmatched ')'     {best(args.repeat, lambda: _fails(broken)) * 1e3:8.2f} ms")


def _fails(expression: str) -> None:
    try:
        parse(expression)
    except ValueError:
        return
    raise AssertionError("expected a syntax error")


if __name__ == "__main__":
    main()
