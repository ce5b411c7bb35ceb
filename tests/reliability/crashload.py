"""Crash consistency under load: clients register, re-register and deregister services (each with two
checks) as fast as they can while the agent is killed with SIGKILL; after each restart every change
that was answered 200 is on disk, and every service is whole (all its checks, of its own version).

Used by tests/reliability/test_crash.py (short form) and bench/crash.py (full form)."""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.agentproc import AgentProcess, q

CHECKS_PER_SERVICE = 2


@dataclass
class Op:
    kind: str  # "register" or "deregister"
    service_id: str
    version: int  # the registered version; 0 for a deregistration
    acked: bool = False


@dataclass
class Totals:
    rounds: int = 0
    acknowledged: int = 0
    unacknowledged: int = 0
    lost: int = 0
    half_present: int = 0
    problems: list[str] = field(default_factory=list)


def registration(service_id: str, version: int) -> dict[str, Any]:
    checks = [
        {"CheckID": f"{service_id}:{n}", "Name": f"check {n}", "TTL": "30m", "Notes": f"v{version}"}
        for n in range(CHECKS_PER_SERVICE)
    ]
    return {
        "ID": service_id,
        "Name": "crash",
        "Port": 1000 + version,
        "Meta": {"v": str(version)},
        "Checks": checks,
    }


class Client(threading.Thread):
    """One client on its own keep-alive connection, owning its service IDs (so its ops on an ID are
    ordered); stops at the first failed request: the agent is gone, that op is in flight."""

    def __init__(self, name: str, port: int, present: dict[str, int], seed: int) -> None:
        super().__init__(name=name, daemon=True)
        self.port = port
        self.present = present  # this client's services and their versions, as the agent should hold
        self.rng = random.Random(seed)
        self.ops: list[Op] = []
        self.serial = 0
        self.refused: list[str] = []

    def next_op(self) -> Op:
        owned = sorted(self.present)
        roll = self.rng.random()
        if owned and roll < 0.3:
            return Op("deregister", self.rng.choice(owned), 0)
        if owned and roll < 0.5:
            service_id = self.rng.choice(owned)
            return Op("register", service_id, self.present[service_id] + 1)
        self.serial += 1
        return Op("register", f"{self.name}-{self.serial}", 1)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            while True:
                op = self.next_op()
                self.ops.append(op)
                if op.kind == "register":
                    path, body = (
                        "/v1/agent/service/register",
                        json.dumps(registration(op.service_id, op.version)),
                    )
                else:
                    path, body = f"/v1/agent/service/deregister/{q(op.service_id)}", ""
                try:
                    conn.request("PUT", path, body=body)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    return  # in flight when the agent died: either outcome is allowed, but whole
                if response.status != 200:  # a refused write is a failure of this test, not a crash
                    self.refused.append(f"{op} answered {response.status}")
                    return
                op.acked = True
                if op.kind == "register":
                    self.present[op.service_id] = op.version
                else:
                    del self.present[op.service_id]
        finally:
            conn.close()


def observed(agent: AgentProcess) -> tuple[dict[str, int], list[str]]:
    """The agent's services as {id: version}, and what is not whole (checks missing, of another
    version, or left without their service)."""
    services = agent.get("/v1/agent/services").json()
    checks = agent.get("/v1/agent/checks").json()
    versions = {sid: int(s["Meta"]["v"]) for sid, s in services.items()}
    broken = []
    by_service: dict[str, list[dict[str, Any]]] = {}
    for check in checks.values():
        by_service.setdefault(check["ServiceID"], []).append(check)
    for sid, own in by_service.items():
        if sid not in versions:
            broken.append(f"checks {sorted(c['CheckID'] for c in own)} without their service {sid}")
    for sid, version in versions.items():
        notes = sorted(c["Notes"] for c in by_service.get(sid, []))
        if notes != [f"v{version}"] * CHECKS_PER_SERVICE:
            broken.append(f"service {sid} v{version} has checks {notes}")
    return versions, broken


def reconcile(clients: list[Client], seen: dict[str, int], totals: Totals) -> None:
    """Compare each client's model with what the agent holds after the restart; an op in flight may
    have happened or not, and the model takes what the agent says for it."""
    for client in clients:
        acked = [op for op in client.ops if op.acked]
        totals.acknowledged += len(acked)
        pending = [op for op in client.ops if not op.acked]
        totals.unacknowledged += len(pending)
        in_flight = pending[-1] if pending else None
        owned = {sid for sid in seen if sid.startswith(client.name + "-")}
        for service_id in owned | set(client.present):
            expected = client.present.get(service_id)
            actual = seen.get(service_id)
            if in_flight is not None and in_flight.service_id == service_id:
                after = in_flight.version or None
                if actual in (expected, after):
                    if actual is None:
                        client.present.pop(service_id, None)
                    else:
                        client.present[service_id] = actual
                    continue
            if actual != expected:
                totals.lost += 1
                totals.problems.append(f"{service_id}: acknowledged v{expected}, found v{actual}")


def run_round(agent: AgentProcess, models: list[dict[str, int]], rng: random.Random, totals: Totals) -> None:
    """Start the clients, kill the agent at a random moment under load, restart it and check."""
    clients = [Client(f"c{n}", agent.port, models[n], rng.randrange(1 << 30)) for n in range(len(models))]
    for client in clients:
        client.start()
    time.sleep(rng.uniform(0.2, 1.5))  # a random moment to kill at: this sleep is the experiment
    agent.kill9()
    for client in clients:
        client.join(timeout=60)
        assert not client.is_alive(), f"{client.name} still running after the agent died"
        totals.problems += client.refused
    agent.start()
    seen, broken = observed(agent)
    totals.half_present += len(broken)
    totals.problems += broken
    reconcile(clients, seen, totals)
    totals.rounds += 1


def run(rounds: int, clients: int = 16, seed: int | None = None, report: bool = True) -> Totals:
    rng = random.Random(seed)
    totals = Totals()
    agent = AgentProcess().start()
    try:
        models: list[dict[str, int]] = [{} for _ in range(clients)]
        for n in range(rounds):
            run_round(agent, models, rng, totals)
            if report:
                held = sum(len(m) for m in models)
                print(
                    f"round {n + 1}/{rounds}: acknowledged {totals.acknowledged}, lost {totals.lost}, "
                    f"half-present {totals.half_present}, services held {held}",
                    flush=True,
                )
    finally:
        with contextlib.suppress(Exception):
            agent.close()
    return totals
