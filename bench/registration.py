"""Durable registrations per second, 16 connections from wrk, against etcd 3.4 (Debian's etcd-server,
default fsync settings) taking puts of the same JSON through its JSON gateway from the same generator.

Run: python bench/registration.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from harness import ROOT, Row, latency_detail, start_agent, wrk

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


def run(seconds: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="muster-bench-reg-") as tmp:
        agent = start_agent("-dns-port", "-1")
        try:
            ours = wrk(
                agent.url, seconds=seconds, connections=CONNECTIONS, script=_script(Path(tmp), "muster")
            )
            counters = {c["Name"]: c["Count"] for c in agent.get("/v1/agent/metrics").json()["Counters"]}
            registered = len(agent.get("/v1/agent/services").json())
        finally:
            agent.close()
        etcd = EtcdCluster(1).start()
        try:
            theirs = wrk(
                etcd.endpoints[0], seconds=seconds, connections=CONNECTIONS, script=_script(Path(tmp), "etcd")
            )
        finally:
            etcd.close()
    assert ours.errors == 0, ours
    assert theirs.errors == 0, theirs
    assert registered >= ours.requests_per_second * seconds * 0.9, registered  # every 200 is a service
    per_fsync = counters["muster.store.ops"] / max(counters["muster.store.commits"], 1)
    return [
        Row(
            figure=f"durable registrations, {CONNECTIONS} clients (PUT /v1/agent/service/register)",
            key="registration",
            value=ours.requests_per_second,
            unit="reg/s",
            detail=f"{latency_detail(ours)}; {per_fsync:.1f} per fsync",
            versus="etcd 3.4 puts, same JSON",
            versus_value=theirs.requests_per_second,
            versus_detail=latency_detail(theirs),
            goal="≥ 1.0 of etcd",
            met=ours.requests_per_second >= theirs.requests_per_second,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    for row in run(args.seconds):
        print(f"{row.figure}: {row.value:.0f} {row.unit} ({row.detail}); {row.versus} {row.versus_value:.0f}")
        print(f"ratio {row.ratio:.2f}")


if __name__ == "__main__":
    main()
