"""The fleet catalog over a secured etcd: TLS with client certificates, and etcd's own users. A wrong
credential leaves the agent serving its local API and reports the fault in `catalog-sync`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.test_fleet import healthy, register, wait_for
from tests.e2e.test_tls import write_pki
from tests.etcdcluster import ClientTLS, EtcdCluster


def fleet_agent(cluster: EtcdCluster, tmp: Path, name: str, etcd: dict[str, object]) -> AgentProcess:
    config = tmp / f"{name}.json"
    config.write_text(json.dumps({"etcd": {"lease_ttl": "3s", **etcd}, "catalog": {"sync_interval": "2s"}}))
    args = [*cluster.agent_args("/secure/"), "-config-file", str(config), "-node", name, "-dns-port", "-1"]
    return AgentProcess(*args).start()


def sync_state(agent: AgentProcess) -> str:
    return str(agent.get("/status/v1/services/catalog-sync").json()["state"])


@pytest.fixture
def tls_cluster(tmp_path: Path) -> Iterator[tuple[EtcdCluster, ClientTLS]]:
    (tmp_path / "pki").mkdir()
    pki = write_pki(tmp_path / "pki")
    tls = ClientTLS(pki.ca, pki.server_cert, pki.server_key, pki.client_cert, pki.client_key)
    cluster = EtcdCluster(1, tls=tls).start()
    yield cluster, tls
    cluster.close()


def test_agents_sync_over_tls_with_client_certificates(
    tls_cluster: tuple[EtcdCluster, ClientTLS], tmp_path: Path
) -> None:
    cluster, tls = tls_cluster
    files = {"ca_file": str(tls.ca), "cert_file": str(tls.client_cert), "key_file": str(tls.client_key)}
    a = fleet_agent(cluster, tmp_path, "a", files)
    b = fleet_agent(cluster, tmp_path, "b", files)
    try:
        register(a, "web", "web-a", 80)
        wait_for(lambda: healthy(b, "web") == [("a", "web-a")], 10.0, "web-a on b over TLS")
        assert sync_state(a) == "running"
    finally:
        a.close()
        b.close()


def test_without_a_client_certificate_the_agent_serves_locally_and_reports_the_fault(
    tls_cluster: tuple[EtcdCluster, ClientTLS], tmp_path: Path
) -> None:
    cluster, tls = tls_cluster
    agent = fleet_agent(cluster, tmp_path, "nocert", {"ca_file": str(tls.ca)})
    try:
        register(agent, "web", "web-x", 80)
        assert agent.get("/v1/agent/service/web-x").status == 200
        wait_for(lambda: sync_state(agent) == "error", 20.0, "catalog-sync error")
        alerts = agent.get("/status/v1/services/catalog-sync").json()["active_alerts"]
        assert "not in sync with etcd" in alerts[0]["message"]
    finally:
        agent.close()


def etcdctl(cluster: EtcdCluster, *args: str) -> None:
    env = dict(os.environ, ETCDCTL_API="3")
    command = ["etcdctl", "--endpoints", ",".join(cluster.endpoints), *args]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=30)


def test_agents_authenticate_as_an_etcd_user(tmp_path: Path) -> None:
    cluster = EtcdCluster(1).start()
    try:
        etcdctl(cluster, "user", "add", "root:rootpw")
        etcdctl(cluster, "user", "grant-role", "root", "root")
        etcdctl(cluster, "user", "add", "muster:s3cret")
        etcdctl(cluster, "role", "add", "catalog")
        etcdctl(cluster, "role", "grant-permission", "catalog", "--prefix=true", "readwrite", "/secure/")
        etcdctl(cluster, "user", "grant-role", "muster", "catalog")
        etcdctl(cluster, "auth", "enable")
        a = fleet_agent(cluster, tmp_path, "a", {"username": "muster", "password": "s3cret"})
        b = fleet_agent(cluster, tmp_path, "b", {"username": "muster", "password": "s3cret"})
        wrong = fleet_agent(cluster, tmp_path, "w", {"username": "muster", "password": "wrong"})
        try:
            register(a, "web", "web-a", 80)
            wait_for(lambda: healthy(b, "web") == [("a", "web-a")], 10.0, "web-a on b as user muster")
            wait_for(lambda: sync_state(wrong) == "error", 20.0, "a wrong password reported")
            assert wrong.get("/v1/agent/services").status == 200
        finally:
            for agent in (a, b, wrong):
                agent.close()
    finally:
        cluster.close()


def test_a_bad_etcd_endpoint_stops_the_agent_before_it_listens() -> None:
    command = [sys.executable, "-m", "muster", "agent", "-dev", "-http-port", "0", "-dns-port", "-1"]
    command += ["-catalog", "etcd", "-etcd-endpoint", "unix:///run/etcd.sock"]
    done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert done.returncode == 1
    assert b"HTTP API listening" not in done.stdout
    assert b"etcd endpoint 'unix:///run/etcd.sock': use http://host:port" in done.stderr
