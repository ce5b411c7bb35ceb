"""ACL enforcement on every endpoint: each endpoint x {no token, unknown token, read-only token, write
token on another service, management token}, with ACLs on and default deny, and the same endpoints
with ACLs off. Expectations follow consul-agent.md §6's permission table and 403 texts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess, Reply

NODE = "test-node"
ROOT = "root-secret"
UNKNOWN = "no-such-secret"
TOKENS = ("none", "unknown", "read", "other", "management")
ANON_SUFFIX = ". The anonymous token is used implicitly when a request does not specify a token."

Expectation = tuple[int, Callable[[Reply], bool]]


def denied(perm: str, name: str) -> Callable[[str], Callable[[Reply], bool]]:
    """A 403 body check for the given token label: anonymous or accessor wording."""

    def for_label(accessor: str) -> Callable[[Reply], bool]:
        if accessor == "anonymous":
            text = f"Permission denied: anonymous token lacks permission '{perm}' on \"{name}\"{ANON_SUFFIX}"
        else:
            who = f"token with AccessorID '{accessor}'"
            text = f"Permission denied: {who} lacks permission '{perm}' on \"{name}\""
        return lambda reply: reply.text == text

    return for_label


def any_body(reply: Reply) -> bool:
    return True


def json_keys(*keys: str) -> Callable[[Reply], bool]:
    return lambda reply: sorted(reply.json()) == sorted(keys)


def json_len(n: int) -> Callable[[Reply], bool]:
    return lambda reply: len(reply.json()) == n


def has_check(check_id: str) -> Callable[[Reply], bool]:
    return lambda reply: check_id in [check["CheckID"] for check in reply.json()]


def text_is(text: str) -> Callable[[Reply], bool]:
    return lambda reply: reply.text == text


ACL_NOT_FOUND = (403, text_is("ACL not found"))


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: Any
    # token label -> (status, body check); "deny:perm:name" strings expand to 403 texts
    expect: dict[str, Any]


def _e(method: str, path: str, body: Any = None, **expect: Any) -> Endpoint:
    return Endpoint(method, path, body, expect)


OK = (200, any_body)
CRITICAL = (503, any_body)  # the health endpoints answer with the (critical) aggregate
MISSING_SERVICE = (
    404,
    text_is('Unknown service ID "missing". Ensure that the service ID is passed, not the service name.'),
)

ENDPOINTS = [
    _e(
        "GET",
        "/v1/agent/services",
        none=(200, json_keys()),
        read=(200, json_keys("web", "other")),
        other=(200, json_keys("other")),
        management=(200, json_keys("web", "other")),
    ),
    _e(
        "GET",
        "/v1/agent/service/web",
        none="deny:service:read:web",
        read=OK,
        other="deny:service:read:web",
        management=OK,
    ),
    _e(
        "GET",
        "/v1/agent/service/missing",
        none=(404, any_body),
        read=(404, any_body),
        other=(404, any_body),
        management=(404, any_body),
    ),
    _e(
        "GET",
        "/v1/agent/checks",
        none=(200, json_keys()),
        read=(200, json_keys("service:web", "node-ttl")),
        other=(200, json_keys()),
        management=(200, json_keys("service:web", "node-ttl")),
    ),
    _e(
        "GET",
        "/v1/agent/health/service/id/web",
        none="deny:service:read:web",
        read=CRITICAL,
        other="deny:service:read:web",
        management=CRITICAL,
    ),
    _e(
        "GET",
        "/v1/agent/health/service/id/missing",
        none=(404, any_body),
        read=(404, any_body),
        other=(404, any_body),
        management=(404, any_body),
    ),
    _e(
        "GET",
        "/v1/agent/health/service/name/web",
        none="deny:service:read:web",
        read=CRITICAL,
        other="deny:service:read:web",
        management=CRITICAL,
    ),
    _e(
        "GET",
        "/v1/agent/health/service/name/missing",
        none="deny:service:read:missing",
        read=(404, any_body),
        other="deny:service:read:missing",
        management=(404, any_body),
    ),
    _e(
        "PUT",
        "/v1/agent/service/register",
        {"Name": "web", "Check": {"TTL": "1h"}},
        none="deny:service:write:web",
        read="deny:service:write:web",
        other="deny:service:write:web",
        management=OK,
    ),
    _e(
        "PUT",
        "/v1/agent/service/register",
        {"Name": "other"},
        none="deny:service:write:other",
        read="deny:service:write:other",
        other=OK,
        management=OK,
    ),
    _e(
        "PUT",
        "/v1/agent/service/deregister/missing",
        none=MISSING_SERVICE,
        read=MISSING_SERVICE,
        other=MISSING_SERVICE,
        management=MISSING_SERVICE,
    ),
    _e(
        "PUT",
        "/v1/agent/service/maintenance/web?enable=false",
        none="deny:service:write:web",
        read="deny:service:write:web",
        other="deny:service:write:web",
        management=OK,
    ),
    _e(
        "PUT",
        "/v1/agent/maintenance?enable=false",
        none=f"deny:node:write:{NODE}",
        read=f"deny:node:write:{NODE}",
        other=f"deny:node:write:{NODE}",
        management=OK,
    ),
    _e(
        "PUT",
        "/v1/agent/check/register",
        {"Name": "extra", "TTL": "1h", "ServiceID": "web"},
        none="deny:service:write:web",
        read="deny:service:write:web",
        other="deny:service:write:web",
        management=OK,
    ),
    _e(
        "PUT",
        "/v1/agent/check/pass/service:web",
        none="deny:service:write:web",
        read="deny:service:write:web",
        other="deny:service:write:web",
        management=OK,
    ),
    _e(
        "PUT",
        "/v1/agent/check/pass/node-ttl",
        none=f"deny:node:write:{NODE}",
        read=f"deny:node:write:{NODE}",
        other=f"deny:node:write:{NODE}",
        management=OK,
    ),
    _e(
        "PUT",
        "/v1/agent/check/deregister/missing",
        none=(404, any_body),
        read=(404, any_body),
        other=(404, any_body),
        management=(404, any_body),
    ),
    _e(
        "GET",
        "/v1/agent/self",
        none=f"deny:agent:read:{NODE}",
        read=OK,
        other=f"deny:agent:read:{NODE}",
        management=OK,
    ),
    _e(
        "GET",
        "/v1/agent/members",
        none=(200, json_len(0)),
        read=(200, json_len(1)),
        other=(200, json_len(0)),
        management=(200, json_len(1)),
    ),
    _e(
        "PUT",
        "/v1/agent/reload",
        none=f"deny:agent:write:{NODE}",
        read=f"deny:agent:write:{NODE}",
        other=f"deny:agent:write:{NODE}",
        management=OK,
    ),
    _e(
        "GET",
        "/v1/catalog/services",
        none=(200, json_keys()),
        read=(200, json_keys("consul", "web", "other")),
        other=(200, json_keys("other")),
        management=(200, json_keys("consul", "web", "other")),
    ),
    _e(
        "GET",
        "/v1/catalog/service/web",
        none=(200, json_len(0)),
        read=(200, json_len(1)),
        other=(200, json_len(0)),
        management=(200, json_len(1)),
    ),
    _e(
        "GET",
        "/v1/catalog/nodes",
        none=(200, json_len(0)),
        read=(200, json_len(1)),
        other=(200, json_len(0)),
        management=(200, json_len(1)),
    ),
    _e(
        "GET",
        "/v1/health/service/web",
        none=(200, json_len(0)),
        read=(200, json_len(1)),
        other=(200, json_len(0)),
        management=(200, json_len(1)),
    ),
    _e(
        "GET",
        "/v1/health/checks/web",
        none=(200, json_len(0)),
        read=(200, has_check("service:web")),
        other=(200, json_len(0)),
        management=(200, has_check("service:web")),
    ),
    _e("GET", "/v1/status/leader", none=OK, read=OK, other=OK, management=OK, unknown=OK),
    _e("GET", "/v1/agent/version", none=OK, read=OK, other=OK, management=OK, unknown=OK),
    _e(
        "GET",
        "/v1/acl/policies",
        none=(403, any_body),
        read=(403, any_body),
        other=(403, any_body),
        management=OK,
    ),
    _e(
        "GET",
        "/v1/acl/tokens",
        none=(403, any_body),
        read=(403, any_body),
        other=(403, any_body),
        management=OK,
    ),
]

READ_RULES = (
    'service_prefix "" { policy = "read" }\n'
    'node_prefix "" { policy = "read" }\n'
    'agent_prefix "" { policy = "read" }'
)
OTHER_RULES = 'service "other" { policy = "write" }'


@dataclass
class Fleet:
    agent: AgentProcess
    secrets: dict[str, str]
    accessors: dict[str, str]


def _token(agent: AgentProcess, name: str, rules: str) -> tuple[str, str]:
    headers = {"X-Consul-Token": ROOT}
    policy = agent.put("/v1/acl/policy", {"Name": name, "Rules": rules}, headers=headers)
    assert 200 == policy.status, policy.text
    token = agent.put("/v1/acl/token", {"Policies": [{"Name": name}]}, headers=headers)
    assert 200 == token.status, token.text
    return token.json()["SecretID"], token.json()["AccessorID"]


def _seed(agent: AgentProcess, headers: dict[str, str]) -> None:
    for body in ({"Name": "web", "Check": {"TTL": "1h"}}, {"Name": "other"}):
        assert 200 == agent.put("/v1/agent/service/register", body, headers=headers).status
    assert (
        200
        == agent.put("/v1/agent/check/register", {"Name": "node-ttl", "TTL": "1h"}, headers=headers).status
    )


@pytest.fixture(scope="module")
def acl_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    config = tmp_path_factory.mktemp("acl") / "acl.json"
    config.write_text(
        json.dumps(
            {"acl": {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": ROOT}}}
        )
    )
    agent = AgentProcess("-config-file", str(config)).start()
    try:
        _seed(agent, {"X-Consul-Token": ROOT})
        read_secret, read_accessor = _token(agent, "read-all", READ_RULES)
        other_secret, other_accessor = _token(agent, "write-other", OTHER_RULES)
        secrets = {
            "none": "",
            "unknown": UNKNOWN,
            "read": read_secret,
            "other": other_secret,
            "management": ROOT,
        }
        accessors = {"none": "anonymous", "read": read_accessor, "other": other_accessor}
        yield Fleet(agent, secrets, accessors)
    finally:
        agent.close()


@pytest.fixture(scope="module")
def open_agent() -> Iterator[AgentProcess]:
    agent = AgentProcess().start()
    try:
        _seed(agent, {})
        yield agent
    finally:
        agent.close()


def _expectation(endpoint: Endpoint, label: str, fleet: Fleet) -> Expectation:
    if label == "unknown" and "unknown" not in endpoint.expect:
        return ACL_NOT_FOUND
    value = endpoint.expect[label]
    if isinstance(value, str):
        _, resource, level, name = value.split(":", 3)
        return 403, denied(f"{resource}:{level}", name)(fleet.accessors[label])
    return value


CELLS = [(e, label) for e in ENDPOINTS for label in TOKENS]


@pytest.mark.parametrize(("endpoint", "label"), CELLS, ids=[f"{e.method} {e.path} [{t}]" for e, t in CELLS])
def test_acl_enforced_with_default_deny(acl_fleet: Fleet, endpoint: Endpoint, label: str) -> None:
    secret = acl_fleet.secrets[label]
    headers = {"X-Consul-Token": secret} if secret else {}
    reply = acl_fleet.agent.request(endpoint.method, endpoint.path, endpoint.body, headers=headers)
    status, check = _expectation(endpoint, label, acl_fleet)
    assert status == reply.status, reply.text
    assert check(reply), reply.text
    if reply.status != 404 and endpoint.path.startswith("/v1/agent/"):
        assert "deny" == reply.header("X-Consul-Default-ACL-Policy")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e.method} {e.path}" for e in ENDPOINTS])
@pytest.mark.parametrize("secret", ["", UNKNOWN])
def test_every_endpoint_open_with_acls_off(open_agent: AgentProcess, endpoint: Endpoint, secret: str) -> None:
    headers = {"X-Consul-Token": secret} if secret else {}
    reply = open_agent.request(endpoint.method, endpoint.path, endpoint.body, headers=headers)
    expected = endpoint.expect["management"][0]
    if endpoint.path.startswith("/v1/acl/"):
        assert (401, "ACL support disabled") == (reply.status, reply.text)
    else:
        assert expected == reply.status, reply.text
        assert "allow" == reply.header("X-Consul-Default-ACL-Policy")


def test_matrix_size_is_reported() -> None:
    cells = len(CELLS) + 2 * len(ENDPOINTS)
    print(f"ACL matrix: {len(CELLS)} cells with ACLs on, {2 * len(ENDPOINTS)} with ACLs off, {cells} in all")
    assert cells >= 5 * 29


def test_filtered_header_only_with_a_token(acl_fleet: Fleet) -> None:
    with_token = acl_fleet.agent.get(
        "/v1/agent/services", headers={"X-Consul-Token": acl_fleet.secrets["other"]}
    )
    anonymous = acl_fleet.agent.get("/v1/agent/services")
    assert "true" == with_token.header("X-Consul-Results-Filtered-By-ACLs")
    assert anonymous.header("X-Consul-Results-Filtered-By-ACLs") is None


def test_ten_thousand_wrong_tokens_are_refused_and_the_agent_keeps_serving(acl_fleet: Fleet) -> None:
    import http.client  # one keep-alive connection: the agent, not connection setup, is under test

    conn = http.client.HTTPConnection("127.0.0.1", acl_fleet.agent.port, timeout=30)
    refused = 0
    try:
        for i in range(10_000):
            conn.request("GET", "/v1/agent/services", headers={"X-Consul-Token": f"wrong-{i}"})
            response = conn.getresponse()
            body = response.read()
            refused += response.status == 403 and body == b"ACL not found"
    finally:
        conn.close()
    assert 10_000 == refused
    ok = acl_fleet.agent.get("/v1/agent/services", headers={"X-Consul-Token": ROOT})
    assert 200 == ok.status


def test_tokens_and_policies_survive_restart(tmp_path: Path) -> None:
    config = tmp_path / "acl.json"
    config.write_text(
        json.dumps(
            {"acl": {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": ROOT}}}
        )
    )
    agent = AgentProcess("-config-file", str(config), data_dir=tmp_path / "data").start()
    try:
        secret, _ = _token(agent, "read-all", READ_RULES)
        agent.kill9()
        agent.start()
        reply = agent.get("/v1/agent/self", headers={"X-Consul-Token": secret})
        assert 200 == reply.status, reply.text
        policies = agent.get("/v1/acl/policies", headers={"X-Consul-Token": ROOT}).json()
        assert "read-all" in [p["Name"] for p in policies]
    finally:
        agent.close()


def test_py_consul_acl_calls(acl_fleet: Fleet) -> None:
    import consul

    client = consul.Consul(host="127.0.0.1", port=acl_fleet.agent.port, token=ROOT)
    # py-consul JSON-encodes `rules`, so it takes Consul's JSON rule form.
    policy = client.acl.policy.create(name="py-consul-web", rules={"service": {"pyweb": {"policy": "write"}}})
    token = client.acl.token.create(policies_id=[policy["ID"]], description="from py-consul")
    scoped = consul.Consul(host="127.0.0.1", port=acl_fleet.agent.port, token=token["SecretID"])
    assert scoped.agent.service.register("pyweb", service_id="pyweb-1") is True
    with pytest.raises(consul.ACLPermissionDenied):
        scoped.agent.service.register("not-mine")
    assert "pyweb-1" in client.agent.services()
    assert token["AccessorID"] == client.acl.token.read(token["AccessorID"])["AccessorID"]
