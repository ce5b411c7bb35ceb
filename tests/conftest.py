"""Shared fixtures: real agent processes on free ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess
from tests.etcdcluster import EtcdCluster


@pytest.fixture
def agent() -> Iterator[AgentProcess]:
    """A durable agent (temporary data dir) on a free port."""
    proc = AgentProcess().start()
    yield proc
    proc.close()


@pytest.fixture
def make_agent() -> Iterator[type[AgentProcess]]:
    """Build agents with extra flags; all are stopped at the end of the test."""
    made: list[AgentProcess] = []

    class Factory(AgentProcess):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    yield Factory
    for proc in made:
        proc.close()


@pytest.fixture
def deny_acl_agent(tmp_path: Path) -> Iterator[AgentProcess]:
    """An agent with ACLs on, default deny, and the management token `root`."""
    config = tmp_path / "acl.json"
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": "root"}}
    config.write_text(json.dumps({"acl": acl}))
    proc = AgentProcess("-config-file", str(config)).start()
    yield proc
    proc.close()


@pytest.fixture(scope="module")
def etcd_cluster() -> Iterator[EtcdCluster]:
    """A real three-member etcd cluster shared by one module's tests, which leave every member running."""
    etcd = EtcdCluster(3).start()
    yield etcd
    etcd.close()
