"""End-to-end: services from JSON/HCL config files, -config-dir, reload, and bad files (spec §5)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess

# As in the other e2e modules: a stray pipe ResourceWarning at garbage collection must not fail a test.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")


def services(agent: AgentProcess, query: str = "") -> dict[str, Any]:
    reply = agent.get("/v1/agent/services" + query)
    assert 200 == reply.status
    return reply.json()


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


def failed_start(agent: AgentProcess) -> str:
    """Start an agent that must refuse its config; return its stderr once it has exited non-zero."""
    with pytest.raises(RuntimeError):
        agent.start()
    assert agent.proc is not None
    assert agent.proc.wait(timeout=10) not in (None, 0)
    deadline = time.monotonic() + 10
    while not agent.stderr_lines and time.monotonic() < deadline:
        time.sleep(0.05)  # the harness drains stderr on its own thread
    return "".join(agent.stderr_lines)


def test_json_service_block_is_registered_at_start(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = write_json(
        tmp_path / "svc.json",
        {
            "service": {
                "name": "cfg",
                "id": "cfg-1",
                "port": 8080,
                "address": "10.0.0.3",
                "tags": ["a", "b"],
                "meta": {"some_key": "v"},
                "enable_tag_override": True,
                "weights": {"passing": 5, "warning": 2},
            }
        },
    )
    agent = make_agent("-config-file", str(config)).start()
    svc = services(agent)["cfg-1"]
    expected = {
        "ID": "cfg-1",
        "Service": "cfg",
        "Tags": ["a", "b"],
        "Meta": {"some_key": "v"},
        "Port": 8080,
        "Address": "10.0.0.3",
        "TaggedAddresses": {
            "lan_ipv4": {"Address": "10.0.0.3", "Port": 8080},
            "wan_ipv4": {"Address": "10.0.0.3", "Port": 8080},
        },
        "Weights": {"Passing": 5, "Warning": 2},
        "EnableTagOverride": True,
        "Datacenter": "dc1",
    }
    assert expected == svc


def test_json_services_list_registers_each(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = write_json(
        tmp_path / "many.json",
        {"services": [{"name": "one", "port": 1}, {"name": "two", "port": 2}, {"name": "three", "id": "3"}]},
    )
    agent = make_agent("-config-file", str(config)).start()
    assert ["3", "one", "two"] == list(services(agent))


def test_hcl_service_blocks_are_registered(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = tmp_path / "svc.hcl"
    config.write_text(
        """
service {
  name = "hcl-web"
  port = 81
  tags = ["x", "y"]
  meta = {
    owner = "ops"
  }
}

service {
  name = "hcl-db"
  id   = "db-1"
  port = 5432
}
"""
    )
    agent = make_agent("-config-file", str(config)).start()
    got = services(agent)
    assert ["db-1", "hcl-web"] == list(got)
    assert (81, ["x", "y"], {"owner": "ops"}) == (
        got["hcl-web"]["Port"],
        got["hcl-web"]["Tags"],
        got["hcl-web"]["Meta"],
    )
    assert ("hcl-db", 5432) == (got["db-1"]["Service"], got["db-1"]["Port"])


def test_hcl_services_list_is_registered(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = tmp_path / "list.hcl"
    config.write_text('services = [\n  { name = "l1" },\n  { name = "l2", port = 2 },\n]\n')
    agent = make_agent("-config-file", str(config)).start()
    assert ["l1", "l2"] == list(services(agent))


def test_config_service_content_hash_matches_api_registration(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = write_json(
        tmp_path / "foo.json", {"service": {"name": "foo", "tags": ["bar", "baz"], "port": 8000}}
    )
    agent = make_agent("-config-file", str(config)).start()
    assert "3e352f348d44f7eb" == agent.get("/v1/agent/service/foo").header("X-Consul-ContentHash")


def test_config_service_wins_over_persisted_one(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    plain = make_agent(data_dir=data_dir).start()
    assert 200 == plain.put("/v1/agent/service/register", {"Name": "dup", "Port": 1, "Tags": ["api"]}).status
    assert 200 == plain.put("/v1/agent/service/register", {"Name": "other", "Port": 9}).status
    plain.kill9()

    config = write_json(tmp_path / "dup.json", {"service": {"name": "dup", "port": 2, "tags": ["config"]}})
    configured = make_agent("-config-file", str(config), data_dir=data_dir).start()
    got = services(configured)
    assert ((2, ["config"]), 9) == ((got["dup"]["Port"], got["dup"]["Tags"]), got["other"]["Port"])
    configured.kill9()

    # Config services are not persisted, and the purged persisted copy does not come back.
    again = make_agent(data_dir=data_dir).start()
    assert ["other"] == list(services(again))


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        ("bad.json", json.dumps({"datacenter": "dc1", "bogus_key": 1}), "bogus_key"),
        ("bad.hcl", 'datacenter = "dc1"\nnot_a_setting = true\n', "not_a_setting"),
        ("badsvc.json", json.dumps({"service": {"name": "x", "frobnicate": 1}}), "frobnicate"),
    ],
)
def test_unknown_key_stops_the_agent_naming_key_and_file(
    make_agent: type[AgentProcess], tmp_path: Path, name: str, text: str, key: str
) -> None:
    config = tmp_path / name
    config.write_text(text)
    stderr = failed_start(make_agent("-config-file", str(config)))
    assert key in stderr
    assert str(config) in stderr


def test_unparsable_file_stops_the_agent_naming_the_file(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = tmp_path / "broken.json"
    config.write_text('{"service": {"name": ')
    stderr = failed_start(make_agent("-config-file", str(config)))
    assert str(config) in stderr


def test_invalid_config_service_stops_the_agent(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = write_json(tmp_path / "noname.json", {"service": {"port": 80}})
    stderr = failed_start(make_agent("-config-file", str(config)))
    assert "Missing service name" in stderr
    assert str(config) in stderr


def test_reload_picks_up_a_changed_file(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = write_json(tmp_path / "svc.json", {"service": {"name": "first", "port": 1}})
    agent = make_agent("-config-file", str(config)).start()
    assert 200 == agent.put("/v1/agent/service/register", {"Name": "api-registered"}).status
    assert ["api-registered", "first"] == list(services(agent))

    write_json(config, {"services": [{"name": "first", "port": 11}, {"name": "second", "port": 2}]})
    reply = agent.put("/v1/agent/reload")
    assert (200, b"") == (reply.status, reply.body)
    got = services(agent)
    assert ["api-registered", "first", "second"] == list(got)
    assert (11, 2) == (got["first"]["Port"], got["second"]["Port"])

    write_json(config, {"service": {"name": "second", "port": 3}})
    assert 200 == agent.put("/v1/agent/reload").status
    got = services(agent)
    assert ["api-registered", "second"] == list(got)
    assert 3 == got["second"]["Port"]


def test_reload_with_a_broken_file_keeps_the_running_config(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = write_json(tmp_path / "svc.json", {"service": {"name": "stable"}})
    agent = make_agent("-config-file", str(config)).start()
    config.write_text('{"unknown_setting": true}')
    reply = agent.put("/v1/agent/reload")
    assert reply.status in (400, 500)
    assert "unknown_setting" in reply.text
    assert ["stable"] == list(services(agent))
    assert agent.proc is not None
    assert agent.proc.poll() is None


def test_config_dir_loads_json_and_hcl_only(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    folder = tmp_path / "conf.d"
    folder.mkdir()
    write_json(folder / "a.json", {"service": {"name": "from-json"}})
    (folder / "b.hcl").write_text('service {\n  name = "from-hcl"\n}\n')
    (folder / "c.txt").write_text("this is { not config")
    (folder / "d.json.bak").write_text("garbage")
    agent = make_agent("-config-dir", str(folder)).start()
    assert ["from-hcl", "from-json"] == list(services(agent))


def test_config_dir_and_reload(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    folder = tmp_path / "conf.d"
    folder.mkdir()
    write_json(folder / "a.json", {"service": {"name": "a"}})
    agent = make_agent("-config-dir", str(folder)).start()
    (folder / "b.hcl").write_text('service {\n  name = "b"\n}\n')
    (folder / "a.json").unlink()
    assert 200 == agent.put("/v1/agent/reload").status
    assert ["b"] == list(services(agent))


def test_later_files_override_scalars_and_flags_win(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    first = write_json(tmp_path / "1.json", {"datacenter": "first-dc", "service": {"name": "s1"}})
    second = write_json(tmp_path / "2.json", {"datacenter": "second-dc", "service": {"name": "s2"}})
    agent = make_agent("-config-file", str(first), "-config-file", str(second)).start()
    got = services(agent)
    assert ["s1", "s2"] == list(got)
    assert "second-dc" == got["s1"]["Datacenter"]
    flagged = make_agent("-config-file", str(first), "-datacenter", "flag-dc").start()
    assert "flag-dc" == services(flagged)["s1"]["Datacenter"]


def test_node_meta_from_config_appears_in_self(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = write_json(tmp_path / "meta.json", {"node_meta": {"rack": "r1"}})
    agent = make_agent("-config-file", str(config)).start()
    meta = agent.get("/v1/agent/self").json()["Meta"]
    assert "r1" == meta["rack"]


def test_config_service_checks_are_registered(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = write_json(
        tmp_path / "chk.json",
        {
            "service": {
                "name": "web",
                "checks": [{"id": "web-ttl", "ttl": "30s"}, {"tcp": "127.0.0.1:1", "interval": "30s"}],
            }
        },
    )
    agent = make_agent("-config-file", str(config)).start()
    reply = agent.get("/v1/agent/checks")
    assert 200 == reply.status, f"GET /v1/agent/checks -> {reply.status} {reply.text!r}"
    assert ["service:web:2", "web-ttl"] == sorted(reply.json())
