"""End-to-end: the check endpoints (spec §2.8-2.10, §2.12, §3.1-3.2, §3.6-3.7, §7.2-7.5).

Check register (defaults, validation order and texts, unknown service), service-embedded check IDs,
names and Type strings, re-registration and replace-existing-checks, deregister, the TTL endpoints,
and the script-check security boundary (README decision 1: 400 instead of Consul's 500).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess, q
from tests.e2e.targets import (
    TEXT,
    agent_checks,
    check_of,
    error,
    free_port,
    put_ok,
    register_check,
    register_service,
    status_of,
    ttl,
    write_config,
)

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

SCRIPTS_DISABLED = (
    "Scripts are disabled on this agent from remote calls; "
    "to enable, configure 'enable_script_checks' to true"
)


@pytest.fixture(scope="module")
def shared() -> Iterator[AgentProcess]:
    """One agent for the validation tables: every request there is refused, so nothing accumulates."""
    proc = AgentProcess(dev=True).start()
    yield proc
    proc.close()


# -- /v1/agent/check/register ----------------------------------------------------------------------


def test_registered_ttl_check_has_consul_shape_with_id_from_name_and_0s_durations(
    agent: AgentProcess,
) -> None:
    register_check(agent, {"Name": "memory usage", "TTL": "15s", "Notes": "watch it"})
    assert {
        "memory usage": {
            "Node": "test-node",
            "CheckID": "memory usage",
            "Name": "memory usage",
            "Status": "critical",
            "Notes": "watch it",
            "Output": "",
            "ServiceID": "",
            "ServiceName": "",
            "ServiceTags": [],
            "Type": "ttl",
            "Interval": "0s",
            "Timeout": "0s",
            "ExposedPort": 0,
            "Definition": {},
            "CreateIndex": 0,
            "ModifyIndex": 0,
        }
    } == agent_checks(agent)


def test_agent_checks_keeps_consul_key_order(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "b", "TTL": "15s"})
    register_check(agent, {"Name": "a", "TTL": "15s"})
    body = agent.get("/v1/agent/checks").json()
    assert ["a", "b"] == list(body)
    assert [
        "Node",
        "CheckID",
        "Name",
        "Status",
        "Notes",
        "Output",
        "ServiceID",
        "ServiceName",
        "ServiceTags",
        "Type",
        "Interval",
        "Timeout",
        "ExposedPort",
        "Definition",
        "CreateIndex",
        "ModifyIndex",
    ] == list(body["a"])


def test_agent_checks_is_empty_object_and_has_no_serf_health(agent: AgentProcess) -> None:
    reply = agent.get("/v1/agent/checks")
    assert (200, {}, None) == (reply.status, reply.json(), reply.header("X-Consul-Index"))


def test_check_register_renders_given_durations_as_go_strings(agent: AgentProcess) -> None:
    port = free_port()
    register_check(
        agent,
        {
            "ID": "h",
            "Name": "http",
            "HTTP": f"http://127.0.0.1:{port}/",
            "Interval": "90s",
            "Timeout": "1500ms",
        },
    )
    register_check(agent, {"ID": "t", "Name": "tcp", "TCP": f"127.0.0.1:{port}", "Interval": 15000000000})
    register_check(agent, {"ID": "u", "Name": "ttl", "TTL": "1h", "Status": "passing"})
    checks = agent_checks(agent)
    assert ("http", "1m30s", "1.5s") == (checks["h"]["Type"], checks["h"]["Interval"], checks["h"]["Timeout"])
    assert ("tcp", "15s", "0s") == (checks["t"]["Type"], checks["t"]["Interval"], checks["t"]["Timeout"])
    assert ("ttl", "0s", "0s", "passing") == (
        checks["u"]["Type"],
        checks["u"]["Interval"],
        checks["u"]["Timeout"],
        checks["u"]["Status"],
    )


def test_check_register_accepts_lower_case_keys_as_py_consul_sends(agent: AgentProcess) -> None:
    register_service(agent, {"name": "web", "tags": ["v1"]})
    register_check(agent, {"name": "mem", "id": "mem-1", "ttl": "10s", "notes": "n", "serviceid": "web"})
    check = check_of(agent, "mem-1")
    assert check is not None
    assert ("mem", "n", "web", "web", ["v1"]) == (
        check["Name"],
        check["Notes"],
        check["ServiceID"],
        check["ServiceName"],
        check["ServiceTags"],
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, (400, "Missing check name")),
        ({"Status": "bogus", "TTL": "10s"}, (400, "Missing check name")),
        ({"Name": "x", "Status": "bogus", "TTL": "10s"}, (400, "Bad check status")),
        ({"Name": "x", "Status": "bogus"}, (400, "Bad check status")),
        ({"Name": "x"}, (400, "Invalid check: TTL must be > 0 for TTL checks")),
        ({"Name": "x", "Interval": "10s"}, (400, "Invalid check: TTL must be > 0 for TTL checks")),
        ({"Name": "x", "TTL": "-1s"}, (400, "Invalid check: TTL must be > 0 for TTL checks")),
        (
            {"Name": "x", "TTL": "10s", "Interval": "10s"},
            (400, "Invalid check: Interval and TTL cannot both be specified"),
        ),
        (
            {"Name": "x", "TCP": "127.0.0.1:1"},
            (
                400,
                "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks",
            ),
        ),
        (
            {"Name": "x", "HTTP": "http://127.0.0.1:1/", "Interval": "-1s"},
            (
                400,
                "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks",
            ),
        ),
        (
            {"Name": "x", "TCP": "127.0.0.1:1", "Interval": "10s", "AliasService": "db"},
            (400, "Invalid check: Interval cannot be set for Alias checks"),
        ),
        (
            {"Name": "x", "AliasService": "db", "TTL": "10s"},
            (400, "Invalid check: TTL must be not be set for Alias checks"),
        ),
        (
            {"Name": "x", "TTL": "10s", "OutputMaxSize": -1},
            (400, "Invalid check: MaxOutputMaxSize must be positive"),
        ),
        (
            {"Name": "x", "TTL": "10s", "FailuresBeforeWarning": 3, "FailuresBeforeCritical": 2},
            (400, "Invalid check: FailuresBeforeWarning can't be higher than FailuresBeforeCritical"),
        ),
        (
            {"Name": "x", "CheckID": "y", "TTL": "10s"},
            (400, 'Request decode failed: json: unknown field "CheckID"'),
        ),
        ({"Name": "x", "TTL": ""}, (400, 'Request decode failed: time: invalid duration ""')),
        ({"Name": "x", "TTL": "10"}, (400, 'Request decode failed: time: missing unit in duration "10"')),
        ({"Name": "x", "TTL": "10s", "ServiceID": "ghost"}, (404, 'ServiceID "ghost" does not exist')),
        ({"Name": "x", "TTL": "10s", "service_id": "ghost"}, (404, 'ServiceID "ghost" does not exist')),
    ],
)
def test_check_register_refuses_with_consul_status_and_text(
    shared: AgentProcess, body: dict[str, Any], expected: tuple[int, str]
) -> None:
    reply = shared.put("/v1/agent/check/register", body)
    assert expected == error(reply)
    assert TEXT == reply.header("Content-Type")
    assert {} == agent_checks(shared)


def test_check_register_of_empty_body_is_decode_error(shared: AgentProcess) -> None:
    assert (400, "Request decode failed: EOF") == error(shared.put("/v1/agent/check/register", b""))


def test_check_register_attaches_to_service_and_inherits_its_name_and_tags(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "ID": "web-1", "Tags": ["a", "b"]})
    register_check(agent, {"Name": "extra", "TTL": "30s", "ServiceID": "web-1", "Status": "warning"})
    check = check_of(agent, "extra")
    assert check is not None
    assert ("web-1", "web", ["a", "b"], "warning") == (
        check["ServiceID"],
        check["ServiceName"],
        check["ServiceTags"],
        check["Status"],
    )


def test_reregistering_a_check_keeps_its_status_and_output(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "ttl", "TTL": "60s"})
    assert 200 == ttl(agent, "pass", "ttl", "up").status
    register_check(agent, {"Name": "ttl", "TTL": "60s", "Status": "critical", "Notes": "new notes"})
    check = check_of(agent, "ttl")
    assert check is not None
    assert ("passing", "up", "new notes") == (check["Status"], check["Output"], check["Notes"])


def test_reregistering_a_service_keeps_its_checks_status(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s"}})
    assert 200 == ttl(agent, "warn", "service:web", "slow").status
    register_service(agent, {"Name": "web", "Tags": ["v2"], "Check": {"TTL": "60s", "Status": "passing"}})
    check = check_of(agent, "service:web")
    assert check is not None
    assert ("warning", "slow", ["v2"]) == (check["Status"], check["Output"], check["ServiceTags"])


def test_reregistering_a_service_without_replace_keeps_checks_not_named(agent: AgentProcess) -> None:
    register_service(
        agent, {"Name": "web", "Checks": [{"CheckID": "a", "TTL": "60s"}, {"CheckID": "b", "TTL": "60s"}]}
    )
    register_check(agent, {"Name": "extra", "TTL": "60s", "ServiceID": "web"})
    put_ok(agent, "/v1/agent/service/maintenance/web?enable=true")
    register_service(agent, {"Name": "web", "Checks": [{"CheckID": "a", "TTL": "60s"}]})
    register_service(
        agent, {"Name": "web", "Checks": [{"CheckID": "a", "TTL": "60s"}]}, "?replace-existing-checks=1"
    )
    register_service(
        agent, {"Name": "web", "Checks": [{"CheckID": "a", "TTL": "60s"}]}, "?replace-existing-checks=false"
    )
    assert ["_service_maintenance:web", "a", "b", "extra"] == sorted(agent_checks(agent))


@pytest.mark.parametrize(
    "query", ["?replace-existing-checks=true", "?replace-existing-checks", "?replace-existing-checks="]
)
def test_replace_existing_checks_prunes_other_checks_and_ends_maintenance(
    agent: AgentProcess, query: str
) -> None:
    register_service(
        agent, {"Name": "web", "Checks": [{"CheckID": "a", "TTL": "60s"}, {"CheckID": "b", "TTL": "60s"}]}
    )
    register_service(agent, {"Name": "other", "Check": {"TTL": "60s"}})
    register_check(agent, {"Name": "extra", "TTL": "60s", "ServiceID": "web"})
    register_check(agent, {"Name": "node-level", "TTL": "60s", "Status": "passing"})
    put_ok(agent, "/v1/agent/service/maintenance/web?enable=true")
    assert 200 == ttl(agent, "pass", "a", "kept").status

    register_service(agent, {"Name": "web", "Checks": [{"CheckID": "a", "TTL": "60s"}]}, query)

    assert ["a", "node-level", "service:other"] == sorted(agent_checks(agent))
    assert ("passing", "kept") == status_of(agent, "a")
    assert 200 == agent.get("/v1/agent/health/service/id/web").status


# -- deregister ----------------------------------------------------------------------------------


def test_check_deregister_removes_the_check_and_unknown_is_404(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s"}})
    register_check(agent, {"Name": "node", "TTL": "60s"})
    put_ok(agent, "/v1/agent/check/deregister/" + q("service:web"))
    assert ["node"] == list(agent_checks(agent))
    assert 1 == len(agent.get("/v1/agent/services").json())
    assert (
        404,
        'Unknown check ID "service:web". Ensure that the check ID is passed, not the check name.',
    ) == error(agent.put("/v1/agent/check/deregister/" + q("service:web")))


def test_service_deregister_removes_its_added_and_maintenance_checks(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s"}})
    register_check(agent, {"Name": "extra", "TTL": "60s", "ServiceID": "web"})
    register_check(agent, {"Name": "node", "TTL": "60s"})
    put_ok(agent, "/v1/agent/service/maintenance/web?enable=true")
    put_ok(agent, "/v1/agent/service/deregister/web")
    assert ["node"] == list(agent_checks(agent))


# -- TTL endpoints ---------------------------------------------------------------------------------


def test_pass_warn_fail_set_status_and_note_and_no_note_clears_output(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "t", "TTL": "60s"})
    seen = []
    for verb, note in [
        ("pass", "fine"),
        ("warn", "hmm"),
        ("fail", "bad"),
        ("pass", None),
        ("warn", "a b&c=d"),
    ]:
        reply = ttl(agent, verb, "t", note)
        assert (200, b"") == (reply.status, reply.body)
        seen.append(status_of(agent, "t"))
    assert [
        ("passing", "fine"),
        ("warning", "hmm"),
        ("critical", "bad"),
        ("passing", ""),
        ("warning", "a b&c=d"),
    ] == seen


def test_update_sets_status_and_output_with_case_insensitive_keys(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "t", "TTL": "60s"})
    put_ok(agent, "/v1/agent/check/update/t", {"Status": "warning", "Output": "disk 91%"})
    assert ("warning", "disk 91%") == status_of(agent, "t")
    put_ok(agent, "/v1/agent/check/update/t", {"status": "passing", "output": "ok"})
    assert ("passing", "ok") == status_of(agent, "t")
    put_ok(agent, "/v1/agent/check/update/t", {"Status": "critical"})
    assert ("critical", "") == status_of(agent, "t")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Status": "x", "Output": "o"}, "Invalid check status: 'x'"),
        ({"Output": "o"}, "Invalid check status: ''"),
        ({"Status": "Passing"}, "Invalid check status: 'Passing'"),
        ({"Status": "passing", "Bogus": 1}, 'Request decode failed: json: unknown field "Bogus"'),
    ],
)
def test_update_with_bad_body_is_400(agent: AgentProcess, body: dict[str, Any], expected: str) -> None:
    register_check(agent, {"Name": "t", "TTL": "60s", "Status": "warning"})
    assert (400, expected) == error(agent.put("/v1/agent/check/update/t", body))
    assert ("warning", "") == status_of(agent, "t")


def test_update_validates_status_before_looking_up_the_check(shared: AgentProcess) -> None:
    assert (400, "Invalid check status: 'x'") == error(
        shared.put("/v1/agent/check/update/ghost", {"Status": "x"})
    )


@pytest.mark.parametrize("verb", ["pass", "warn", "fail"])
def test_ttl_verb_on_unknown_check_is_404(shared: AgentProcess, verb: str) -> None:
    assert (
        404,
        'Unknown check ID "ghost". Ensure that the check ID is passed, not the check name.',
    ) == error(ttl(shared, verb, "ghost"))


def test_update_on_unknown_check_is_404(shared: AgentProcess) -> None:
    assert (
        404,
        'Unknown check ID "ghost". Ensure that the check ID is passed, not the check name.',
    ) == error(shared.put("/v1/agent/check/update/ghost", {"Status": "passing"}))


@pytest.mark.parametrize("verb", ["pass", "warn", "fail", "update"])
def test_ttl_verb_on_non_ttl_check_is_400_not_500(agent: AgentProcess, verb: str) -> None:
    register_check(
        agent, {"ID": "h", "Name": "http", "HTTP": f"http://127.0.0.1:{free_port()}/", "Interval": "10s"}
    )
    register_service(agent, {"Name": "web"})
    put_ok(agent, "/v1/agent/service/maintenance/web?enable=true")
    for check_id in ["h", "_service_maintenance:web"]:
        if verb == "update":
            reply = agent.put("/v1/agent/check/update/" + q(check_id), {"Status": "passing"})
        else:
            reply = ttl(agent, verb, check_id)
        assert ((400, f'CheckID "{check_id}" does not have associated TTL'), TEXT) == (
            error(reply),
            reply.header("Content-Type"),
        )
    assert "critical" == status_of(agent, "_service_maintenance:web")[0]  # type: ignore[index]


@pytest.mark.parametrize("verb", ["pass", "warn", "fail", "update"])
def test_ttl_verbs_are_put_only(shared: AgentProcess, verb: str) -> None:
    reply = shared.get(f"/v1/agent/check/{verb}/x")
    assert (405, "method GET not allowed", "OPTIONS,PUT") == (reply.status, reply.text, reply.header("Allow"))


# -- scripts: the security boundary --------------------------------------------------------------


def test_script_check_register_is_refused_when_scripts_are_disabled(agent: AgentProcess) -> None:
    reply = agent.put("/v1/agent/check/register", {"Name": "s", "Args": ["/bin/true"], "Interval": "1s"})
    assert ((400, SCRIPTS_DISABLED), TEXT) == (error(reply), reply.header("Content-Type"))
    assert {} == agent_checks(agent)


def test_service_with_script_check_is_refused_and_rolled_back_when_scripts_are_disabled(
    agent: AgentProcess,
) -> None:
    body = {"Name": "web", "Checks": [{"TTL": "10s"}, {"Args": ["/bin/true"], "Interval": "1s"}]}
    assert (400, SCRIPTS_DISABLED) == error(agent.put("/v1/agent/service/register", body))
    assert ({}, {}) == (agent.get("/v1/agent/services").json(), agent_checks(agent))


def test_reregistering_existing_service_with_script_check_keeps_the_old_service(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Port": 80, "Check": {"TTL": "10s"}})
    body = {"Name": "web", "Port": 81, "Check": {"ScriptArgs": ["/bin/true"], "Interval": "1s"}}
    assert (400, SCRIPTS_DISABLED) == error(agent.put("/v1/agent/service/register", body))
    assert 80 == agent.get("/v1/agent/service/web").json()["Port"]
    assert ["service:web"] == list(agent_checks(agent))


def test_local_script_checks_setting_does_not_allow_scripts_over_http(
    make_agent: Any, tmp_path: Path
) -> None:
    agent = make_agent("-config-file", write_config(tmp_path, enable_local_script_checks=True)).start()
    reply = agent.put("/v1/agent/check/register", {"Name": "s", "Args": ["/bin/true"], "Interval": "1s"})
    assert (400, SCRIPTS_DISABLED) == error(reply)


def test_enable_script_checks_in_config_file_allows_script_checks(make_agent: Any, tmp_path: Path) -> None:
    agent = make_agent("-config-file", write_config(tmp_path, enable_script_checks=True)).start()
    register_check(agent, {"Name": "s", "Args": ["/bin/true"], "Interval": "1s"})
    register_service(agent, {"Name": "web", "Check": {"args": ["/bin/true"], "Interval": "1s"}})
    checks = agent_checks(agent)
    assert (("script", "1s", "0s"), ("script", "1s", "")) == (
        (checks["s"]["Type"], checks["s"]["Interval"], checks["s"]["Timeout"]),
        (checks["service:web"]["Type"], checks["service:web"]["Interval"], checks["service:web"]["Timeout"]),
    )


# -- service-embedded checks -----------------------------------------------------------------------


def test_single_service_check_gets_service_id_and_generated_name(agent: AgentProcess) -> None:
    register_service(
        agent, {"Name": "web", "ID": "web-1", "Tags": ["t"], "Check": {"TTL": "10s", "Notes": "n"}}
    )
    assert {
        "service:web-1": {
            "Node": "test-node",
            "CheckID": "service:web-1",
            "Name": "Service 'web' check",
            "Status": "critical",
            "Notes": "n",
            "Output": "",
            "ServiceID": "web-1",
            "ServiceName": "web",
            "ServiceTags": ["t"],
            "Type": "ttl",
            "Interval": "",
            "Timeout": "",
            "ExposedPort": 0,
            "Definition": {},
            "CreateIndex": 0,
            "ModifyIndex": 0,
        }
    } == agent_checks(agent)


def test_one_entry_in_checks_list_gets_plain_service_id(agent: AgentProcess) -> None:
    register_service(agent, {"name": "web", "checks": [{"ttl": "10s"}]})
    assert ["service:web"] == list(agent_checks(agent))


def test_service_check_ids_count_positions_including_explicit_ids(agent: AgentProcess) -> None:
    register_service(
        agent,
        {
            "Name": "web2",
            "ID": "svcid2",
            "Checks": [
                {"CheckID": "check1", "Name": "first", "TTL": "10s"},
                {"CheckID": "check-noname", "TTL": "10s"},
                {"Name": "check-noid", "TTL": "10s"},
                {"TTL": "10s", "Status": "passing"},
            ],
        },
    )
    checks = agent_checks(agent)
    assert {
        "check1": ("first", "critical"),
        "check-noname": ("Service 'web2' check", "critical"),
        "service:svcid2:3": ("check-noid", "critical"),
        "service:svcid2:4": ("Service 'web2' check", "passing"),
    } == {k: (v["Name"], v["Status"]) for k, v in checks.items()}


def test_check_and_checks_together_number_check_first(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "10s"}, "Checks": [{"TTL": "20s"}]})
    assert ["service:web:1", "service:web:2"] == sorted(agent_checks(agent))


def test_empty_check_object_means_no_check_but_empty_checks_entry_is_an_error(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {}})
    assert {} == agent_checks(agent)
    reply = agent.put("/v1/agent/service/register", {"Name": "api", "Checks": [{}]})
    assert (400, "Invalid check: TTL must be > 0 for TTL checks") == error(reply)


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ({"TTL": "10s", "Status": "up"}, (400, "Status for checks must 'passing', 'warning', 'critical'")),
        (
            {"TTL": "10s", "Interval": "10s"},
            (400, "Invalid check: Interval and TTL cannot both be specified"),
        ),
        ({"ID": "x", "TTL": "10s"}, (400, 'Request decode failed: json: unknown field "ID"')),
        ({"Interval": "10s"}, (400, "Invalid check: TTL must be > 0 for TTL checks")),
    ],
)
def test_invalid_service_check_is_refused(
    shared: AgentProcess, check: dict[str, Any], expected: tuple[int, str]
) -> None:
    assert expected == error(shared.put("/v1/agent/service/register", {"Name": "bad", "Check": check}))
    assert {} == shared.get("/v1/agent/services").json()


def test_service_check_type_strings_and_interval_rendering(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "db"})
    port = free_port()
    addr = f"127.0.0.1:{port}"
    kinds = [
        {"CheckID": "ttl", "TTL": "30s"},
        {"CheckID": "http", "HTTP": f"http://{addr}/", "Interval": "10s", "Timeout": "2s"},
        {"CheckID": "tcp", "TCP": addr, "Interval": "1m"},
        {"CheckID": "udp", "UDP": addr, "Interval": "10s"},
        {"CheckID": "grpc", "GRPC": addr, "Interval": "10s"},
        {"CheckID": "h2ping", "H2PING": addr, "H2PingUseTLS": False, "Interval": "10s"},
        {"CheckID": "alias", "AliasService": "db"},
        {"CheckID": "http+tcp", "HTTP": f"http://{addr}/", "TCP": addr, "Interval": "10s"},
        {"CheckID": "grpc+http", "GRPC": addr, "HTTP": f"http://{addr}/", "Interval": "10s"},
        {"CheckID": "tcp+udp", "TCP": addr, "UDP": addr, "Interval": "10s"},
    ]
    register_service(agent, {"Name": "web", "Checks": kinds})
    checks = agent_checks(agent)
    assert {
        "ttl": ("ttl", "", ""),
        "http": ("http", "10s", "2s"),
        "tcp": ("tcp", "1m0s", ""),
        "udp": ("udp", "10s", ""),
        "grpc": ("grpc", "10s", ""),
        "h2ping": ("h2ping", "10s", ""),
        "alias": ("alias", "", ""),
        "http+tcp": ("http", "10s", ""),
        "grpc+http": ("grpc", "10s", ""),
        "tcp+udp": ("tcp", "10s", ""),
    } == {k: (checks[k]["Type"], checks[k]["Interval"], checks[k]["Timeout"]) for k in checks}


def test_service_check_interval_given_in_nanoseconds_is_kept_as_given(agent: AgentProcess) -> None:
    register_service(agent, {"name": "web", "checks": [{"tcp": f"127.0.0.1:{free_port()}", "interval": 10}]})
    check = check_of(agent, "service:web")
    assert check is not None
    assert ("tcp", "10ns") == (check["Type"], check["Interval"])
