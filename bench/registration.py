"""Durable registrations per second and their p50 / p99 latency, 16 connections from wrk, against etcd 3.4
(Debian's etcd-server, default fsync settings) taking puts of the same JSON through its JSON gateway from
the same generator. Rounds alternate Muster and etcd; the figures are the medians of the rounds.

Run: python bench/registration.py [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness import ROOT, Row, WrkResult, start_agent, wrk

sys.path.insert(0, str(ROOT))
from tests.etcdcluster import EtcdCluster

CONNECTIONS = 16

# Every request registers a new service ID (one wrk thread, so the counter is unique). The body is the
# same for both targets; etcd gets it base64'd under a key named after the ID.
_LUA = r"""
local n = 0
local kind = "%(kind)s"
local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(data)
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b %% 2 ^ i - b %% 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%%d%%d%%d?%%d?%%d?%%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({"", "==", "="})[#data %% 3 + 1])
end
request = function()
  n = n + 1
  local id = string.format("reg-%%08d", n)
  local body = '{"Name":"reg","ID":"' .. id .. '","Port":8080,"Address":"10.1.2.3",'
    .. '"Tags":["primary","v1"],"Meta":{"env":"prod","team":"t1"}}'
  if kind == "muster" then
    return wrk.format("PUT", "/v1/agent/service/register", {["Content-Type"] = "application/json"}, body)
  end
  local put = '{"key":"' .. b64("/muster/services/" .. id) .. '","value":"' .. b64(body) .. '"}'
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"}, put)
end
"""


def _script(tmp: Path, kind: str) -> Path:
    path = tmp / f"{kind}.lua"
    path.write_text(_LUA % {"kind": kind})
    return path


@dataclass
class Round:
    ours: WrkResult
    theirs: WrkResult
    per_fsync: float


def one_round(seconds: float, tmp: Path) -> Round:
    agent = start_agent("-dns-port", "-1")  # a durable agent: AgentProcess gives it a -data-dir
    try:
        ours = wrk(agent.url, seconds=seconds, connections=CONNECTIONS, script=_script(tmp, "muster"))
        counters = {c["Name"]: c["Count"] for c in agent.get("/v1/agent/metrics").json()["Counters"]}
        registered = len(agent.get("/v1/agent/services").json())
    finally:
        agent.close()
    etcd = EtcdCluster(1).start()
    try:
        theirs = wrk(etcd.endpoints[0], seconds=seconds, connections=CONNECTIONS, script=_script(tmp, "etcd"))
    finally:
        etcd.close()
    assert ours.errors == 0, ours
    assert theirs.errors == 0, theirs
    assert registered >= ours.requests_per_second * seconds * 0.9, registered  # every 200 is a service
    return Round(ours, theirs, counters["muster.store.ops"] / max(counters["muster.store.commits"], 1))


def run(seconds: float, rounds: int = 3) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="muster-bench-reg-") as tmp:
        done = [one_round(seconds, Path(tmp)) for _ in range(rounds)]
    med = statistics.median
    ours_rps, theirs_rps = (
        med(r.ours.requests_per_second for r in done),
        med(r.theirs.requests_per_second for r in done),
    )
    ours_p50, theirs_p50 = med(r.ours.p50_ms for r in done), med(r.theirs.p50_ms for r in done)
    ours_p99, theirs_p99 = med(r.ours.p99_ms for r in done), med(r.theirs.p99_ms for r in done)
    of = f"median of {rounds}" if rounds > 1 else "1 round"
    per_fsync = med(r.per_fsync for r in done)
    p99_ratios = ", ".join(f"{r.ours.p99_ms / r.theirs.p99_ms:.1f}" for r in done)
    return [
        Row(
            figure=f"durable registrations, {CONNECTIONS} clients (PUT /v1/agent/service/register)",
            key="registration",
            value=ours_rps,
            unit="reg/s",
            detail=f"p50 {ours_p50:.2f} / p99 {ours_p99:.2f} ms, {of}; {per_fsync:.1f} per fsync",
            versus="etcd 3.4 puts, same JSON",
            versus_value=theirs_rps,
            versus_detail=f"p50 {theirs_p50:.2f} / p99 {theirs_p99:.2f} ms",
            goal="≥ 1.0 of etcd",
            met=ours_rps >= theirs_rps,
        ),
        Row(
            figure=f"durable registrations, {CONNECTIONS} clients: p99 latency",
            key="registration p99",
            value=ours_p99,
            unit="ms",
            detail=f"p50 {ours_p50:.2f} ms, {of}; p99 ratio per round {p99_ratios}",
            versus="etcd 3.4 puts, same run",
            versus_value=theirs_p99,
            versus_detail=f"p50 {theirs_p50:.2f} ms",
            goal="≤ 3.0 of etcd",
            met=ours_p99 <= 3.0 * theirs_p99,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="Muster then etcd, this many times")
    args = parser.parse_args()
    for row in run(args.seconds, args.rounds):
        print(f"{row.figure}: {row.value:.0f} {row.unit} ({row.detail}); {row.versus} {row.versus_value:.0f}")
        print(f"ratio {row.ratio:.2f}")


if __name__ == "__main__":
    main()
