"""End-to-end: the agent service endpoints (spec §1.6, §2.2-2.5, §2.11, §3.6-3.7, §4.1, §7).

Every test drives a real `muster agent` process over HTTP.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess, Reply, q

# As in the other e2e modules: a stray pipe ResourceWarning at garbage collection must not fail a test.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

REGISTER = "/v1/agent/service/register"
SCRIPTS_DISABLED = (
    "Scripts are disabled on this agent from remote calls; "
    "to enable, configure 'enable_script_checks' to true"
)
TEXT = "text/plain; charset=utf-8"


# -- helpers -------------------------------------------------------------------------------------


def services(agent: AgentProcess, query: str = "") -> dict[str, Any]:
    reply = agent.get("/v1/agent/services" + query)
    assert 200 == reply.status, reply.text
    return reply.json()


def register_ok(agent: AgentProcess, body: Any, query: str = "", **kwargs: Any) -> None:
    reply = agent.put(REGISTER + query, body, **kwargs)
    assert (200, b"") == (reply.status, reply.body), reply.text


def error(reply: Reply) -> tuple[int, str]:
    return reply.status, reply.text


def ordered_keys(body: bytes) -> list[str]:
    return list(json.loads(body))


class BlockedGet(threading.Thread):
    """A GET run in the background, timed from the moment it is sent."""

    def __init__(self, agent: AgentProcess, path: str, timeout: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.agent, self.path, self.timeout = agent, path, timeout
        self.reply: Reply | None = None
        self.error: BaseException | None = None
        self.sent_at = 0.0
        self.done_at = 0.0

    def run(self) -> None:
        self.sent_at = time.monotonic()
        try:
            self.reply = self.agent.get(self.path, timeout=self.timeout)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        self.done_at = time.monotonic()

    def result(self, timeout: float = 60.0) -> Reply:
        self.join(timeout)
        assert not self.is_alive(), "blocking request never returned"
        assert self.error is None, repr(self.error)
        assert self.reply is not None
        return self.reply

    @property
    def elapsed(self) -> float:
        return self.done_at - self.sent_at


# ContentHash (§4.1): FNV-1 64 over the AgentService struct, as hashstructure does it.
_M = 2**64 - 1


def _fnv1(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = (h * 0x100000001B3) & _M
        h ^= byte
    return h


def _h_str(s: str) -> int:
    return _fnv1(s.encode())


def _h_int(n: int) -> int:
    return _fnv1(struct.pack("<q", n))


def _h_bool(b: bool) -> int:
    return _fnv1(b"\x01" if b else b"\x00")


def _ordered(a: int, b: int) -> int:
    return _fnv1(struct.pack("<QQ", a, b))


def _h_list(hashes: list[int]) -> int:
    h = 0
    for x in hashes:
        h = _ordered(h, x)
    return h


def _h_map(pairs: list[tuple[int, int]]) -> int:
    h = 0
    for k, v in pairs:
        h ^= _ordered(k, v)
    return h


def _h_struct(name: str, fields: list[tuple[str, int]]) -> int:
    h = _h_str(name)
    for field, value in fields:
        h ^= _ordered(_h_str(field), value)
    return h


def content_hash(svc: dict[str, Any]) -> str:
    """The expected ContentHash of a typical (non-proxy) AgentService as the agent returns it."""
    tagged = svc.get("TaggedAddresses") or {}
    weights = svc["Weights"]
    connect = svc.get("Connect")
    fields = [
        ("Kind", _h_str(svc.get("Kind", ""))),
        ("ID", _h_str(svc["ID"])),
        ("Service", _h_str(svc["Service"])),
        ("Tags", _h_list([_h_str(t) for t in svc["Tags"]])),
        ("Meta", _h_map([(_h_str(k), _h_str(v)) for k, v in svc["Meta"].items()])),
        ("Port", _h_int(svc["Port"])),
        ("Address", _h_str(svc["Address"])),
        ("SocketPath", _h_str(svc.get("SocketPath", ""))),
        (
            "TaggedAddresses",
            _h_map(
                [
                    (
                        _h_str(k),
                        _h_struct(
                            "ServiceAddress", [("Address", _h_str(v["Address"])), ("Port", _h_int(v["Port"]))]
                        ),
                    )
                    for k, v in tagged.items()
                ]
            ),
        ),
        (
            "Weights",
            _h_struct(
                "AgentWeights",
                [("Passing", _h_int(weights["Passing"])), ("Warning", _h_int(weights["Warning"]))],
            ),
        ),
        ("EnableTagOverride", _h_bool(svc["EnableTagOverride"])),
        ("CreateIndex", _fnv1(struct.pack("<Q", 0))),
        ("ModifyIndex", _fnv1(struct.pack("<Q", 0))),
        ("ContentHash", _h_str("")),
        ("Proxy", _h_int(0)),
        (
            "Connect",
            _h_int(0)
            if not connect
            else _h_struct("AgentServiceConnect", [("Native", _h_bool(True)), ("SidecarService", _h_int(0))]),
        ),
        ("PeerName", _h_str("")),
    ]
    return format(_h_struct("AgentService", fields), "x")


# -- round trip and output shape (§2.2-2.5, §2.11) -------------------------------------------------


def test_register_list_get_deregister_round_trip(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web", "ID": "web-1", "Port": 80})
    assert ["web-1"] == list(services(agent))
    got = agent.get("/v1/agent/service/web-1")
    assert 200 == got.status
    assert ("web-1", "web", 80) == (got.json()["ID"], got.json()["Service"], got.json()["Port"])

    reply = agent.put("/v1/agent/service/deregister/web-1")
    assert (200, b"") == (reply.status, reply.body)
    assert {} == services(agent)
    assert (404, "unknown service ID: web-1") == error(agent.get("/v1/agent/service/web-1"))


def test_empty_service_list_is_an_empty_object(agent: AgentProcess) -> None:
    reply = agent.get("/v1/agent/services")
    assert (200, b"{}") == (reply.status, reply.body)
    assert "application/json" == reply.header("Content-Type")


def test_services_list_is_exact_bytes_of_spec_example(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web", "Port": 8080, "Address": "10.0.0.1", "Tags": ["a"]})
    expected = (
        b'{"web":{"ID":"web","Service":"web","Tags":["a"],"Meta":{},"Port":8080,"Address":"10.0.0.1",'
        b'"TaggedAddresses":{"lan_ipv4":{"Address":"10.0.0.1","Port":8080},'
        b'"wan_ipv4":{"Address":"10.0.0.1","Port":8080}},"Weights":{"Passing":1,"Warning":1},'
        b'"EnableTagOverride":false,"Datacenter":"dc1"}}'
    )
    assert expected == agent.get("/v1/agent/services").body


def test_get_service_is_exact_bytes_with_content_hash_after_enable_tag_override(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "foo", "Tags": ["bar", "baz"], "Port": 8000})
    reply = agent.get("/v1/agent/service/foo")
    expected = (
        b'{"ID":"foo","Service":"foo","Tags":["bar","baz"],"Meta":{},"Port":8000,"Address":"",'
        b'"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"ContentHash":"3e352f348d44f7eb",'
        b'"Datacenter":"dc1"}'
    )
    assert expected == reply.body
    assert "3e352f348d44f7eb" == reply.header("X-Consul-ContentHash")
    assert "application/json" == reply.header("Content-Type")


def test_bare_service_has_empty_tags_and_meta_never_null(agent: AgentProcess) -> None:
    register_ok(
        agent, {"Name": "bare", "Tags": None, "Meta": None, "Weights": None, "Check": None, "Checks": None}
    )
    expected = (
        b'{"bare":{"ID":"bare","Service":"bare","Tags":[],"Meta":{},"Port":0,"Address":"",'
        b'"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Datacenter":"dc1"}}'
    )
    assert expected == agent.get("/v1/agent/services").body


def test_services_map_and_meta_keys_are_sorted(agent: AgentProcess) -> None:
    for name in ["zeta", "alpha", "Mid", "beta"]:
        register_ok(agent, {"Name": name, "Meta": {"z": "1", "a": "2", "B": "3"}})
    body = agent.get("/v1/agent/services").body
    assert ["Mid", "alpha", "beta", "zeta"] == ordered_keys(body)
    assert ["B", "a", "z"] == list(json.loads(body)["alpha"]["Meta"])


def test_ipv6_address_gets_lan_and_wan_ipv6_tagged_addresses(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "v6", "Address": "2001:db8::1", "Port": 9000})
    tagged = services(agent)["v6"]["TaggedAddresses"]
    expected = {
        "lan_ipv6": {"Address": "2001:db8::1", "Port": 9000},
        "wan_ipv6": {"Address": "2001:db8::1", "Port": 9000},
    }
    assert expected == tagged


def test_ipv4_mapped_ipv6_address_counts_as_ipv4(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "mapped", "Address": "::ffff:10.0.0.7", "Port": 1})
    assert ["lan_ipv4", "wan_ipv4"] == sorted(services(agent)["mapped"]["TaggedAddresses"])


@pytest.mark.parametrize("address", ["db.example.com", "", "not an address at all", "localhost"])
def test_hostname_or_empty_address_gets_no_tagged_addresses(agent: AgentProcess, address: str) -> None:
    register_ok(agent, {"Name": "h", "Address": address, "Port": 1})
    svc = services(agent)["h"]
    assert "TaggedAddresses" not in svc
    assert address == svc["Address"]


def test_given_tagged_address_is_kept_and_missing_default_is_added(agent: AgentProcess) -> None:
    register_ok(
        agent,
        {
            "Name": "t",
            "Address": "10.0.0.1",
            "Port": 80,
            "TaggedAddresses": {"lan_ipv4": {"Address": "10.9.9.9", "Port": 1}},
        },
    )
    expected = {
        "lan_ipv4": {"Address": "10.9.9.9", "Port": 1},
        "wan_ipv4": {"Address": "10.0.0.1", "Port": 80},
    }
    assert expected == services(agent)["t"]["TaggedAddresses"]


def test_default_weights_are_one_one(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "w"})
    assert {"Passing": 1, "Warning": 1} == services(agent)["w"]["Weights"]


def test_partial_weights_keep_warning_zero(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "w", "Weights": {"Passing": 10}})
    assert {"Passing": 10, "Warning": 0} == services(agent)["w"]["Weights"]


def test_datacenter_comes_from_the_agent(make_agent: type[AgentProcess]) -> None:
    agent = make_agent("-datacenter", "east-2").start()
    register_ok(agent, {"Name": "foo", "Tags": ["bar", "baz"], "Port": 8000})
    reply = agent.get("/v1/agent/service/foo")
    assert "east-2" == reply.json()["Datacenter"]
    # Datacenter is not hashed (§4.1): the vector holds in any datacenter.
    assert "3e352f348d44f7eb" == reply.header("X-Consul-ContentHash")


@pytest.mark.parametrize("port", [-5, 0, 65535])
def test_negative_zero_and_the_largest_ports_are_accepted(agent: AgentProcess, port: int) -> None:
    # Above 65535 is a 400 (differences.md; tests/e2e/test_ports_and_ids.py).
    register_ok(agent, {"Name": "p", "Port": port})
    assert port == services(agent)["p"]["Port"]


def test_unknown_kind_is_echoed_first(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "k", "Kind": "something-new"})
    body = agent.get("/v1/agent/services").body
    svc = json.loads(body)["k"]
    assert "something-new" == svc["Kind"]
    assert ["Kind", "ID", "Service"] == list(svc)[:3]


def test_connect_native_is_shown(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "n", "Port": 443, "Connect": {"Native": True}})
    assert {"Native": True} == services(agent)["n"]["Connect"]


def test_id_defaults_to_name_and_reregistration_replaces_definition(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web", "Port": 1, "Tags": ["old"], "Meta": {"a": "b"}})
    register_ok(agent, {"Name": "web", "Port": 2, "Tags": ["new"]})
    svc = services(agent)["web"]
    assert ("web", 2, ["new"], {}) == (svc["ID"], svc["Port"], svc["Tags"], svc["Meta"])


# -- ContentHash (§4.1) ----------------------------------------------------------------------------


def test_content_hash_matches_spec_vector_with_native_connect_and_meta(agent: AgentProcess) -> None:
    register_ok(
        agent,
        {
            "ID": "web1",
            "Name": "web",
            "Tags": ["a"],
            "Port": 80,
            "Address": "10.0.0.1",
            "Weights": {"Passing": 10, "Warning": 1},
            "Meta": {"k": "v", "x": "y"},
            "EnableTagOverride": True,
            "Connect": {"Native": True},
        },
    )
    reply = agent.get("/v1/agent/service/web1")
    assert ("24121cb1a15fc243", "24121cb1a15fc243") == (
        reply.json()["ContentHash"],
        reply.header("X-Consul-ContentHash"),
    )


@pytest.mark.parametrize(
    "body",
    [
        {"Name": "x"},
        {"Name": "x", "Tags": ["one"], "Meta": {"m": "n"}, "Port": 1, "Address": "192.168.1.1"},
        {"Name": "x", "Address": "fe80::1", "Port": 65535, "Weights": {"Passing": 3, "Warning": 2}},
        {"Name": "x", "ID": "x", "EnableTagOverride": True, "Address": "example.org"},
    ],
)
def test_content_hash_is_fnv1_of_the_returned_service(agent: AgentProcess, body: dict[str, Any]) -> None:
    register_ok(agent, body)
    reply = agent.get("/v1/agent/service/x")
    returned = reply.json()
    assert content_hash(returned) == returned["ContentHash"] == reply.header("X-Consul-ContentHash")


def test_content_hash_changes_with_definition_and_not_with_reregistration(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "c", "Tags": ["a"]})
    first = agent.get("/v1/agent/service/c").header("X-Consul-ContentHash")
    register_ok(agent, {"Name": "c", "Tags": ["a"]})
    assert first == agent.get("/v1/agent/service/c").header("X-Consul-ContentHash")
    register_ok(agent, {"Name": "c", "Tags": ["b"]})
    assert first != agent.get("/v1/agent/service/c").header("X-Consul-ContentHash")


def test_content_hash_is_absent_from_list_and_errors(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "c"})
    assert "ContentHash" not in services(agent)["c"]
    missing = agent.get("/v1/agent/service/nope")
    assert (404, None) == (missing.status, missing.header("X-Consul-ContentHash"))


# -- decoding (§1.6, §7.1) -------------------------------------------------------------------------


def test_lowercase_keys_as_py_consul_sends_are_accepted(agent: AgentProcess) -> None:
    register_ok(
        agent,
        {
            "name": "low",
            "id": "low-1",
            "address": "10.1.1.1",
            "port": 81,
            "tags": ["t"],
            "meta": {"Key": "V"},
            "enabletagoverride": True,
            "weights": {"passing": 16, "warning": 2},
            "checks": [{"ttl": "10s"}],
        },
    )
    svc = services(agent)["low-1"]
    expected = ("low", "10.1.1.1", 81, ["t"], {"Key": "V"}, True, {"Passing": 16, "Warning": 2})
    assert expected == (
        svc["Service"],
        svc["Address"],
        svc["Port"],
        svc["Tags"],
        svc["Meta"],
        svc["EnableTagOverride"],
        svc["Weights"],
    )


def test_upper_and_mixed_case_keys_are_accepted(agent: AgentProcess) -> None:
    register_ok(
        agent, {"NAME": "up", "pOrT": 5, "TaggedAddresses": {"lan": {"address": "1.2.3.4", "port": 7}}}
    )
    svc = services(agent)["up"]
    assert (5, {"Address": "1.2.3.4", "Port": 7}) == (svc["Port"], svc["TaggedAddresses"]["lan"])


def test_snake_case_enable_tag_override_alias(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "e", "enable_tag_override": True})
    assert True is services(agent)["e"]["EnableTagOverride"]


def test_snake_case_tagged_addresses_alias(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "ta", "tagged_addresses": {"wan": {"Address": "8.8.8.8", "Port": 53}}})
    assert {"wan": {"Address": "8.8.8.8", "Port": 53}} == services(agent)["ta"]["TaggedAddresses"]


def test_unsupported_snake_case_key_is_an_unknown_field(agent: AgentProcess) -> None:
    reply = agent.put(REGISTER, {"Name": "s", "socket_path": "/tmp/x"})
    assert (400, 'Request decode failed: json: unknown field "socket_path"') == error(reply)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Name": "a", "Bogus": 1}, "Bogus"),
        ({"Name": "a", "Check": {"ID": "x", "TTL": "10s"}}, "ID"),
        ({"Name": "a", "Checks": [{"TTL": "10s", "Nope": True}]}, "Nope"),
        ({"Name": "a", "Weights": {"Passing": 1, "Heavy": 2}}, "Heavy"),
        ({"Name": "a", "TaggedAddresses": {"lan": {"Address": "1.1.1.1", "Extra": 1}}}, "Extra"),
        (
            {
                "Name": "a",
                "Check": {"docker_container_id": "c", "shell": "sh", "script": "x", "interval": "10s"},
            },
            "script",
        ),
        ({"Name": "a", "Partition": "default"}, "Partition"),
    ],
)
def test_unknown_field_is_rejected_naming_it_as_sent(
    agent: AgentProcess, body: dict[str, Any], field: str
) -> None:
    reply = agent.put(REGISTER, body)
    assert (400, f'Request decode failed: json: unknown field "{field}"') == error(reply)
    assert TEXT == reply.header("Content-Type")
    assert {} == services(agent)


def test_unknown_keys_inside_connect_are_ignored(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "c", "Port": 1, "Connect": {"Native": True, "Whatever": {"x": 1}}})
    assert {"Native": True} == services(agent)["c"]["Connect"]


@pytest.mark.parametrize(
    "body",
    [
        {"Name": "a", "Port": "80"},
        {"Name": "a", "Port": 80.5},
        {"Name": "a", "Meta": {"k": 1}},
        {"Name": "a", "EnableTagOverride": "true"},
        {"Name": "a", "Tags": "single"},
        {"Name": 5},
    ],
)
def test_type_mismatch_is_a_decode_error(agent: AgentProcess, body: dict[str, Any]) -> None:
    reply = agent.put(REGISTER, body)
    assert 400 == reply.status
    assert reply.text.startswith("Request decode failed: json: cannot unmarshal "), reply.text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "Request decode failed: EOF"),
        (b"   \n\t ", "Request decode failed: EOF"),
        (b'{"Name":"a"', "Request decode failed: unexpected EOF"),
        (b'{"Name":', "Request decode failed: unexpected EOF"),
        (b"nul", "Request decode failed: unexpected EOF"),
        (b"nope", "Request decode failed: invalid character 'o' in literal null (expecting 'u')"),
    ],
)
def test_broken_bodies_give_go_decoder_texts(agent: AgentProcess, raw: bytes, message: str) -> None:
    assert (400, message) == error(agent.put(REGISTER, raw))


def test_null_body_is_missing_service_name(agent: AgentProcess) -> None:
    assert (400, "Missing service name") == error(agent.put(REGISTER, b"null"))


def test_trailing_garbage_after_the_first_value_is_ignored(agent: AgentProcess) -> None:
    register_ok(agent, b'{"Name":"tg","Port":3} garbage {"Name":"other"')
    assert ["tg"] == list(services(agent))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "image/png", ""])
def test_any_content_type_is_parsed_as_json(agent: AgentProcess, content_type: str) -> None:
    register_ok(agent, b'{"Name":"ct"}', headers={"Content-Type": content_type})
    assert ["ct"] == list(services(agent))


@pytest.mark.parametrize(
    "check",
    [
        {"TTL": "10s"},
        {"TTL": "1m30s"},
        {"TTL": "1.5h"},
        {"TTL": "2h0m15s"},
        {"TTL": "100ms"},
        {"TTL": "1500us"},
        {"TTL": "1500µs"},
        {"TTL": 15000000000},
        {"ttl": 10},
        {"HTTP": "http://127.0.0.1:1/", "Interval": "10s", "Timeout": "1s"},
        {"http": "http://127.0.0.1:1/", "interval": 10},
        {"TCP": "127.0.0.1:1", "Interval": 1000000000},
        {"TTL": "10s", "DeregisterCriticalServiceAfter": "90m"},
        {"TTL": "10s", "deregister_critical_service_after": "1m"},
        {"TTL": "10s", "Interval": True},
    ],
)
def test_check_durations_accept_go_strings_and_nanoseconds(
    agent: AgentProcess, check: dict[str, Any]
) -> None:
    register_ok(agent, {"Name": "d", "Check": check})
    assert ["d"] == list(services(agent))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("abc", 'time: invalid duration "abc"'),
        ("10", 'time: missing unit in duration "10"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("10 s", 'time: unknown unit " s" in duration "10 s"'),
    ],
)
def test_bad_duration_texts(agent: AgentProcess, value: str, message: str) -> None:
    reply = agent.put(REGISTER, {"Name": "d", "Check": {"TTL": value}})
    assert (400, f"Request decode failed: {message}") == error(reply)
    reply = agent.put(REGISTER, {"Name": "d", "Checks": [{"TCP": "127.0.0.1:1", "Interval": value}]})
    assert (400, f"Request decode failed: {message}") == error(reply)
    assert {} == services(agent)


def test_token_field_in_body_is_accepted_and_not_shown(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "tok", "Token": "abc123"})
    assert "Token" not in services(agent)["tok"]


# -- validation (§2.4 steps 3-9, 13; §3.2) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Missing service name"),
        ({"ID": "only-id"}, "Missing service name"),
        ({"Name": ""}, "Missing service name"),
        ({"Name": "a", "Address": "0.0.0.0"}, "Invalid service address"),
        ({"Name": "a", "Address": "::"}, "Invalid service address"),
        ({"Name": "a", "Address": "[::]"}, "Invalid service address"),
        ({"Name": "a", "Weights": {}}, "Invalid Weights: Passing must be greater than 0"),
        (
            {"Name": "a", "Weights": {"Passing": 0, "Warning": 1}},
            "Invalid Weights: Passing must be greater than 0",
        ),
        (
            {"Name": "a", "Weights": {"Passing": 1, "Warning": -1}},
            "Invalid Weights: Warning must be greater or equal than 0",
        ),
        (
            {"Name": "a", "Weights": {"Passing": 65536}},
            "Invalid Weights: DNS Weight must be between 0 and 65535",
        ),
        (
            {"Name": "a", "Weights": {"Passing": 1, "Warning": 65536}},
            "Invalid Weights: DNS Weight must be between 0 and 65535",
        ),
        (
            {"Name": "a", "Meta": {f"k{i}": "v" for i in range(65)}},
            "Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs",
        ),
        (
            {"Name": "a", "Meta": {"": "v"}},
            "Invalid Service Meta: Couldn't load metadata pair ('', 'v'): Key cannot be blank",
        ),
        (
            {"Name": "a", "Meta": {"a.b": "v"}},
            "Invalid Service Meta: Couldn't load metadata pair ('a.b', 'v'): Key contains invalid characters",
        ),
        (
            {"Name": "a", "Meta": {"k" * 129: "v"}},
            f"Invalid Service Meta: Couldn't load metadata pair ('{'k' * 129}', 'v'): "
            "Key is too long (limit: 128 characters)",
        ),
        (
            {"Name": "a", "Meta": {"consul-x": "v"}},
            "Invalid Service Meta: Couldn't load metadata pair ('consul-x', 'v'): "
            "Key prefix 'consul-' is reserved for internal use",
        ),
        (
            {"Name": "a", "Meta": {"k": "v" * 513}},
            f"Invalid Service Meta: Couldn't load metadata pair ('k', '{'v' * 513}'): "
            "Value is too long (limit: 512 characters)",
        ),
        (
            {"Name": "a", "Kind": "connect-proxy", "Proxy": {"DestinationServiceName": "web"}},
            "Validation failed: 1 error occurred:\n"
            "\t* Port or SocketPath must be set for a connect-proxy\n\n",
        ),
        (
            {"Name": "a", "Kind": "connect-proxy"},
            "Validation failed: 2 errors occurred:\n\t* Port or SocketPath must be set for a connect-proxy\n"
            "\t* Proxy.DestinationServiceName must be non-empty for Connect proxy services\n\n",
        ),
        (
            {"Name": "a", "Port": 1, "Locality": {"Zone": "z1"}},
            "Validation failed: 1 error occurred:\n\t* zone cannot be set without region\n\n",
        ),
        (
            {"Name": "a", "Check": {"TTL": "10s", "Interval": "10s"}},
            "Invalid check: Interval and TTL cannot both be specified",
        ),
        (
            {"Name": "a", "Check": {"HTTP": "http://127.0.0.1/"}},
            "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks",
        ),
        (
            {"Name": "a", "Check": {"TCP": "127.0.0.1:1", "Interval": "10s", "AliasService": "b"}},
            "Invalid check: Interval cannot be set for Alias checks",
        ),
        (
            {"Name": "a", "Check": {"AliasService": "b", "TTL": "10s"}},
            "Invalid check: TTL must be not be set for Alias checks",
        ),
        ({"Name": "a", "Check": {"Interval": "10s"}}, "Invalid check: TTL must be > 0 for TTL checks"),
        ({"Name": "a", "Check": {"TTL": "-1s"}}, "Invalid check: TTL must be > 0 for TTL checks"),
        ({"Name": "a", "Checks": [{}]}, "Invalid check: TTL must be > 0 for TTL checks"),
        (
            {"Name": "a", "Checks": [{"TTL": "10s"}, {"Name": "empty"}]},
            "Invalid check: TTL must be > 0 for TTL checks",
        ),
        (
            {"Name": "a", "Check": {"TTL": "10s", "OutputMaxSize": -1}},
            "Invalid check: MaxOutputMaxSize must be positive",
        ),
        (
            {"Name": "a", "Check": {"TTL": "10s", "FailuresBeforeWarning": 3, "FailuresBeforeCritical": 2}},
            "Invalid check: FailuresBeforeWarning can't be higher than FailuresBeforeCritical",
        ),
        (
            {"Name": "a", "Check": {"TTL": "10s", "Status": "ok"}},
            "Status for checks must 'passing', 'warning', 'critical'",
        ),
        (
            {"Name": "a", "Checks": [{"TTL": "10s", "Status": "Passing"}]},
            "Status for checks must 'passing', 'warning', 'critical'",
        ),
        (
            {
                "Name": "a",
                "Address": "10.0.0.1",
                "TaggedAddresses": {"lan_ipv4": {"Address": "not-an-ip", "Port": 1}},
            },
            'Service tagged address "lan_ipv4" must be a valid ipv4 address',
        ),
        (
            {"Name": "a", "TaggedAddresses": {"wan_ipv4": {"Address": "2001:db8::1", "Port": 1}}},
            'Service tagged address "wan_ipv4" must be a valid ipv4 address',
        ),
        (
            {"Name": "a", "TaggedAddresses": {"lan_ipv6": {"Address": "10.0.0.1", "Port": 1}}},
            'Service tagged address "lan_ipv6" must be a valid ipv6 address',
        ),
        (
            {"Name": "a", "Check": {"Args": ["/bin/true"], "Interval": "10s"}},
            SCRIPTS_DISABLED,
        ),
        (
            {"Name": "a", "Checks": [{"args": ["/bin/true"], "interval": "10s"}]},
            SCRIPTS_DISABLED,
        ),
        (
            {"Name": "a", "Checks": [{"TTL": "10s"}, {"script_args": ["/bin/true"], "interval": "10s"}]},
            SCRIPTS_DISABLED,
        ),
    ],
)
def test_validation_errors_are_400_with_consul_text_and_leave_nothing(
    agent: AgentProcess, body: dict[str, Any], message: str
) -> None:
    reply = agent.put(REGISTER, body)
    assert (400, message) == error(reply)
    assert TEXT == reply.header("Content-Type")
    assert "allow" == reply.header("X-Consul-Default-ACL-Policy")
    assert {} == services(agent)


def test_first_failure_wins_name_before_address_before_weights(agent: AgentProcess) -> None:
    assert (400, "Missing service name") == error(agent.put(REGISTER, {"Address": "0.0.0.0", "Weights": {}}))
    assert (400, "Invalid service address") == error(
        agent.put(REGISTER, {"Name": "a", "Address": "0.0.0.0", "Weights": {}})
    )
    body = {"Name": "a", "Weights": {}, "Meta": {"": "x"}, "Check": {"Interval": "1s"}}
    assert (400, "Invalid Weights: Passing must be greater than 0") == error(agent.put(REGISTER, body))


def test_invalid_check_is_reported_before_bad_status(agent: AgentProcess) -> None:
    reply = agent.put(REGISTER, {"Name": "a", "Check": {"Status": "bogus"}})
    # "Check" with a non-zero field is validated: the type check comes first (§2.4 step 9).
    assert (400, "Invalid check: TTL must be > 0 for TTL checks") == error(reply)


def test_empty_check_object_means_no_check(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "nc", "Check": {}})
    assert ["nc"] == list(services(agent))


def test_other_address_spellings_and_garbage_are_accepted(agent: AgentProcess) -> None:
    for i, address in enumerate(["0.0.0.0.0", "0:0:0:0:0:0:0:0", "::0", "%%%"]):
        register_ok(agent, {"Name": f"a{i}", "Address": address})
    assert ["0.0.0.0.0", "0:0:0:0:0:0:0:0", "::0", "%%%"] == [s["Address"] for s in services(agent).values()]


def test_meta_at_limits_is_accepted(agent: AgentProcess) -> None:
    meta = {f"k{i}": "v" for i in range(63)}
    meta["K" * 128] = "v" * 512
    register_ok(agent, {"Name": "m", "Meta": meta})
    assert meta == services(agent)["m"]["Meta"]


def test_mesh_gateway_may_use_consul_wan_federation_meta(agent: AgentProcess) -> None:
    register_ok(
        agent, {"Name": "gw", "Kind": "mesh-gateway", "Port": 8443, "Meta": {"consul-wan-federation": "1"}}
    )
    assert {"consul-wan-federation": "1"} == services(agent)["gw"]["Meta"]


def test_failed_reregistration_leaves_the_existing_service_unchanged(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "keep", "Port": 1, "Tags": ["x"]})
    before = agent.get("/v1/agent/services").body
    for bad in [
        {"Name": "keep", "Port": 2, "Weights": {"Passing": 0}},
        {"Name": "keep", "Port": 2, "Meta": {"consul-a": "b"}},
        {"Name": "keep", "Port": 2, "Check": {"Interval": "1s"}},
        {"Name": "keep", "Port": 2, "Check": {"TTL": "1s", "Status": "up"}},
        {"Name": "keep", "Port": 2, "Bogus": True},
    ]:
        assert 400 == agent.put(REGISTER, bad).status
    assert before == agent.get("/v1/agent/services").body


def test_failed_tagged_address_registration_is_rolled_back(agent: AgentProcess) -> None:
    body = {"Name": "rb", "Check": {"TTL": "10s"}, "TaggedAddresses": {"lan_ipv4": {"Address": "nope"}}}
    assert 400 == agent.put(REGISTER, body).status
    assert {} == services(agent)
    assert (404, "unknown service ID: rb") == error(agent.get("/v1/agent/service/rb"))
    assert {} == checks(agent)


def test_script_check_is_accepted_when_config_enables_scripts(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = tmp_path / "scripts.json"
    config.write_text(json.dumps({"enable_script_checks": True}))
    agent = make_agent("-config-file", str(config)).start()
    register_ok(agent, {"Name": "s", "Check": {"Args": ["/bin/true"], "Interval": "30s"}})
    assert ["s"] == list(services(agent))


def test_local_script_checks_do_not_allow_remote_scripts(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = tmp_path / "local.json"
    config.write_text(json.dumps({"enable_local_script_checks": True}))
    agent = make_agent("-config-file", str(config)).start()
    reply = agent.put(REGISTER, {"Name": "s", "Check": {"Args": ["/bin/true"], "Interval": "30s"}})
    assert (400, SCRIPTS_DISABLED) == error(reply)


# -- checks of a service and replace-existing-checks (§3.6, §3.7, §2.4 step 12) ---------------------


def checks(agent: AgentProcess) -> dict[str, Any]:
    reply = agent.get("/v1/agent/checks")
    assert 200 == reply.status, f"GET /v1/agent/checks -> {reply.status} {reply.text!r}"
    return reply.json()


def test_service_check_ids_follow_positions(agent: AgentProcess) -> None:
    register_ok(
        agent,
        {
            "Name": "svc",
            "ID": "svcid2",
            "Checks": [
                {"CheckID": "check1", "TTL": "10s"},
                {"CheckID": "check-noname", "TTL": "10s"},
                {"Name": "check-noid", "TTL": "10s"},
                {"TTL": "10s"},
            ],
        },
    )
    got = checks(agent)
    assert ["check-noname", "check1", "service:svcid2:3", "service:svcid2:4"] == sorted(got)
    assert "Service 'svc' check" == got["service:svcid2:4"]["Name"]


def test_single_check_gets_service_prefixed_id_and_aliases(agent: AgentProcess) -> None:
    register_ok(agent, {"name": "one", "checks": [{"ttl": "10s", "notes": "n"}]})
    got = checks(agent)
    assert ["service:one"] == list(got)
    assert ("ttl", "critical", "n", "one") == tuple(
        got["service:one"][k] for k in ("Type", "Status", "Notes", "ServiceID")
    )


def _two_checks(agent: AgentProcess) -> None:
    register_ok(
        agent, {"Name": "r", "Checks": [{"CheckID": "c1", "TTL": "10s"}, {"CheckID": "c2", "TTL": "10s"}]}
    )
    assert ["c1", "c2"] == sorted(checks(agent))


@pytest.mark.parametrize(
    "query", ["?replace-existing-checks", "?replace-existing-checks=", "?replace-existing-checks=true"]
)
def test_replace_existing_checks_on_for_empty_or_true(agent: AgentProcess, query: str) -> None:
    _two_checks(agent)
    register_ok(agent, {"Name": "r", "Checks": [{"CheckID": "c1", "TTL": "10s"}]}, query)
    assert ["c1"] == sorted(checks(agent))


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?replace-existing-checks=1",
        "?replace-existing-checks=True",
        "?replace-existing-checks=yes",
        "?replace-existing-checks=false",
    ],
)
def test_replace_existing_checks_off_otherwise_keeps_old_checks(agent: AgentProcess, query: str) -> None:
    _two_checks(agent)
    register_ok(agent, {"Name": "r", "Checks": [{"CheckID": "c1", "TTL": "10s"}]}, query)
    assert ["c1", "c2"] == sorted(checks(agent))


def test_deregister_removes_the_service_checks(agent: AgentProcess) -> None:
    _two_checks(agent)
    assert 200 == agent.put("/v1/agent/service/deregister/r").status
    assert {} == checks(agent)


# -- deregister / get errors and IDs in paths (§1.1, §2.3, §2.5) --------------------------------------


def test_deregister_unknown_is_404_with_consul_text(agent: AgentProcess) -> None:
    reply = agent.put("/v1/agent/service/deregister/x")
    assert (
        404,
        'Unknown service ID "x". Ensure that the service ID is passed, not the service name.',
    ) == error(reply)
    assert TEXT == reply.header("Content-Type")


def test_deregister_by_name_instead_of_id_is_404(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "named", "ID": "named-1"})
    reply = agent.put("/v1/agent/service/deregister/named")
    assert (
        404,
        'Unknown service ID "named". Ensure that the service ID is passed, not the service name.',
    ) == error(reply)
    assert ["named-1"] == list(services(agent))


def test_deregister_empty_id_is_404(agent: AgentProcess) -> None:
    reply = agent.put("/v1/agent/service/deregister/")
    assert (
        404,
        'Unknown service ID "". Ensure that the service ID is passed, not the service name.',
    ) == error(reply)


def test_deregister_quotes_the_id_go_style(agent: AgentProcess) -> None:
    reply = agent.put("/v1/agent/service/deregister/" + q('a"b'))
    assert (
        404,
        'Unknown service ID "a\\"b". Ensure that the service ID is passed, not the service name.',
    ) == error(reply)


def test_get_unknown_service_is_404_with_plain_id(agent: AgentProcess) -> None:
    assert (404, "unknown service ID: x") == error(agent.get("/v1/agent/service/x"))


def test_get_empty_id_is_404_with_trailing_space(agent: AgentProcess) -> None:
    reply = agent.get("/v1/agent/service/")
    assert (404, "unknown service ID: ") == error(reply)
    assert TEXT == reply.header("Content-Type")


def test_register_path_with_trailing_slash_is_a_get_of_id_register(agent: AgentProcess) -> None:
    assert (404, "unknown service ID: register/") == error(agent.get("/v1/agent/service/register/"))
    reply = agent.put("/v1/agent/service/register/", {"Name": "x"})
    assert (405, "OPTIONS,GET") == (reply.status, reply.header("Allow"))


def test_ids_with_colon_slash_and_hash_round_trip(agent: AgentProcess) -> None:
    service_id = "db:primary/eu#1"
    register_ok(agent, {"Name": "db", "ID": service_id})
    assert [service_id] == list(services(agent))
    # python-consul style: ':' and '/' raw, '#' as %23.
    raw = agent.get("/v1/agent/service/db:primary/eu%231")
    assert (200, service_id) == (raw.status, raw.json()["ID"])
    encoded = agent.get("/v1/agent/service/" + q(service_id))
    assert (200, service_id) == (encoded.status, encoded.json()["ID"])
    assert raw.body == encoded.body
    assert 200 == agent.put("/v1/agent/service/deregister/db%3Aprimary%2Feu%231").status
    assert {} == services(agent)


def test_ids_with_spaces_and_unicode_round_trip(agent: AgentProcess) -> None:
    service_id = "my svc é?&"
    register_ok(agent, {"Name": "u", "ID": service_id})
    reply = agent.get("/v1/agent/service/" + q(service_id))
    assert (200, service_id) == (reply.status, reply.json()["ID"])
    assert 200 == agent.put("/v1/agent/service/deregister/" + q(service_id)).status
    assert (404, f"unknown service ID: {service_id}") == error(
        agent.get("/v1/agent/service/" + q(service_id))
    )


# -- hash-based blocking (§4.1, §7.7) -----------------------------------------------------------------


def _hash(agent: AgentProcess, service_id: str) -> str:
    reply = agent.get(f"/v1/agent/service/{service_id}")
    assert 200 == reply.status
    value = reply.header("X-Consul-ContentHash")
    assert value
    return value


def test_hash_blocking_returns_on_change_with_new_body(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "b", "Tags": ["v1"]})
    current = _hash(agent, "b")
    blocked = BlockedGet(agent, f"/v1/agent/service/b?hash={current}&wait=5s")
    blocked.start()
    time.sleep(0.5)  # let the request reach the agent and park
    changed_at = time.monotonic()
    register_ok(agent, {"Name": "b", "Tags": ["v2"]})
    reply = blocked.result()
    assert 200 == reply.status
    assert ["v2"] == reply.json()["Tags"]
    assert reply.header("X-Consul-ContentHash") == reply.json()["ContentHash"] != current
    assert blocked.done_at >= changed_at  # it waited for the change...
    assert blocked.elapsed < 4.0  # ...and did not sit until the 5 s deadline


def test_identical_reregistration_does_not_wake_a_blocked_query(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "same", "Port": 1})
    current = _hash(agent, "same")
    blocked = BlockedGet(agent, f"/v1/agent/service/same?hash={current}&wait=2s")
    blocked.start()
    time.sleep(0.3)
    register_ok(agent, {"Name": "same", "Port": 1})
    reply = blocked.result()
    assert (200, current, current) == (
        reply.status,
        reply.header("X-Consul-ContentHash"),
        reply.json()["ContentHash"],
    )
    assert 1.9 <= blocked.elapsed < 2 * 17 / 16 + 3.0


def test_wait_alone_does_not_block(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "nb"})
    for query in ["?wait=5s", "?hash=&wait=5s", "?index=5&wait=5s"]:
        started = time.monotonic()
        assert 200 == agent.get("/v1/agent/service/nb" + query).status
        assert time.monotonic() - started < 2.5, query


def test_stale_hash_returns_immediately(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "st"})
    started = time.monotonic()
    reply = agent.get("/v1/agent/service/st?hash=0123abcd&wait=10s")
    assert 200 == reply.status
    assert time.monotonic() - started < 2.5
    assert _hash(agent, "st") == reply.header("X-Consul-ContentHash")


@pytest.mark.parametrize("wait", ["abc", "10", "-", "1d", "5 s"])
def test_invalid_wait_is_400_before_lookup(agent: AgentProcess, wait: str) -> None:
    reply = agent.get(f"/v1/agent/service/missing?hash=x&wait={q(wait)}")
    assert (400, "Invalid wait time") == error(reply)
    assert TEXT == reply.header("Content-Type")


@pytest.mark.parametrize("index", ["abc", "-1", "1.5", "18446744073709551616"])
def test_invalid_index_is_400(agent: AgentProcess, index: str) -> None:
    register_ok(agent, {"Name": "i"})
    assert (400, "Invalid index") == error(agent.get(f"/v1/agent/service/i?index={index}"))


def test_valid_index_is_ignored(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "i"})
    assert 200 == agent.get("/v1/agent/service/i?index=18446744073709551615").status


def test_list_endpoint_ignores_blocking_parameters(agent: AgentProcess) -> None:
    started = time.monotonic()
    reply = agent.get("/v1/agent/services?wait=abc&index=xyz&hash=1")
    assert (200, b"{}") == (reply.status, reply.body)
    assert reply.header("X-Consul-Index") is None
    assert time.monotonic() - started < 2.5


def test_deregistration_while_blocked_gives_404(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "gone"})
    current = _hash(agent, "gone")
    blocked = BlockedGet(agent, f"/v1/agent/service/gone?hash={current}&wait=10s")
    blocked.start()
    time.sleep(0.5)
    assert 200 == agent.put("/v1/agent/service/deregister/gone").status
    reply = blocked.result()
    assert (404, "unknown service ID: gone") == error(reply)
    assert reply.header("X-Consul-ContentHash") is None
    assert blocked.elapsed < 5.0


def test_many_blocked_clients_all_wake_on_one_change(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "fan", "Port": 1})
    current = _hash(agent, "fan")
    waiters = [BlockedGet(agent, f"/v1/agent/service/fan?hash={current}&wait=20s") for _ in range(20)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.5)
    register_ok(agent, {"Name": "fan", "Port": 2})
    ports = [waiter.result().json()["Port"] for waiter in waiters]
    assert [2] * 20 == ports
    assert max(w.elapsed for w in waiters) < 10.0


def test_client_disconnecting_mid_block_does_not_break_the_agent(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "dc", "Port": 1})
    current = _hash(agent, "dc")
    sockets = []
    for _ in range(10):
        sock = socket.create_connection(("127.0.0.1", agent.port), timeout=5)
        sock.sendall(f"GET /v1/agent/service/dc?hash={current}&wait=30s HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sockets.append(sock)
    time.sleep(0.3)
    for sock in sockets:
        sock.close()
    # The agent keeps answering, and a fresh blocked client is still woken by a change.
    started = time.monotonic()
    assert 200 == agent.get("/v1/agent/services", timeout=5).status
    assert time.monotonic() - started < 2.0
    blocked = BlockedGet(agent, f"/v1/agent/service/dc?hash={current}&wait=20s")
    blocked.start()
    time.sleep(0.3)
    register_ok(agent, {"Name": "dc", "Port": 2})
    assert 2 == blocked.result().json()["Port"]
    assert blocked.elapsed < 10.0
    assert agent.proc is not None
    assert agent.proc.poll() is None


def test_sigterm_answers_blocked_clients_and_exits_zero(make_agent: type[AgentProcess]) -> None:
    agent = make_agent().start()
    register_ok(agent, {"Name": "term"})
    current = _hash(agent, "term")
    waiters = [BlockedGet(agent, f"/v1/agent/service/term?hash={current}&wait=120s") for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.5)
    assert agent.proc is not None
    terminated_at = time.monotonic()
    agent.proc.terminate()
    replies = [waiter.result(timeout=30) for waiter in waiters]
    assert [200, 200, 200] == [reply.status for reply in replies]
    assert [current] * 3 == [reply.header("X-Consul-ContentHash") for reply in replies]
    assert all(waiter.done_at - terminated_at < 5.0 for waiter in waiters)
    assert 0 == agent.proc.wait(timeout=10)
    assert time.monotonic() - terminated_at < 10.0


# -- namespaces (README decision 5) and partitions (§1.8) ---------------------------------------------


def test_namespace_from_query_parameter(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web", "Port": 1}, "?ns=team-a")
    reply = agent.get("/v1/agent/service/web?ns=team-a")
    assert (200, "team-a") == (reply.status, reply.json()["Namespace"])
    assert ["web"] == list(services(agent, "?ns=team-a"))
    assert {} == services(agent)
    assert (404, "unknown service ID: web") == error(agent.get("/v1/agent/service/web"))


def test_namespace_from_header(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web"}, headers={"X-Consul-Namespace": "team-b"})
    reply = agent.get("/v1/agent/service/web", headers={"X-Consul-Namespace": "team-b"})
    assert (200, "team-b") == (reply.status, reply.json()["Namespace"])
    assert ["web"] == list(services(agent, "?ns=team-b"))
    assert {} == services(agent)


def test_namespace_from_body_beats_query_and_header(agent: AgentProcess) -> None:
    register_ok(
        agent, {"Name": "web", "Namespace": "team-c"}, "?ns=team-x", headers={"X-Consul-Namespace": "team-y"}
    )
    assert ["web"] == list(services(agent, "?ns=team-c"))
    assert {} == services(agent, "?ns=team-x")
    assert {} == services(agent, "?ns=team-y")


def test_query_namespace_beats_header(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web"}, "?ns=q-ns", headers={"X-Consul-Namespace": "h-ns"})
    assert ["web"] == list(services(agent, "?ns=q-ns"))
    assert {} == services(agent, "?ns=h-ns")


def test_same_id_in_two_namespaces_is_independent(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web", "Port": 1})
    register_ok(agent, {"Name": "web", "Port": 2}, "?ns=team-a")
    assert 1 == agent.get("/v1/agent/service/web").json()["Port"]
    assert 2 == agent.get("/v1/agent/service/web?ns=team-a").json()["Port"]
    assert 200 == agent.put("/v1/agent/service/deregister/web?ns=team-a").status
    assert (404, "unknown service ID: web") == error(agent.get("/v1/agent/service/web?ns=team-a"))
    assert 1 == agent.get("/v1/agent/service/web").json()["Port"]
    reply = agent.put("/v1/agent/service/deregister/web?ns=team-a")
    assert (
        404,
        'Unknown service ID "web". Ensure that the service ID is passed, not the service name.',
    ) == error(reply)


def test_namespace_key_present_for_non_default_and_absent_for_default(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web", "Port": 1})
    register_ok(agent, {"Name": "web", "Port": 1}, "?ns=team-a")
    register_ok(agent, {"Name": "dflt", "Namespace": "default"})
    assert "Namespace" not in agent.get("/v1/agent/service/web").json()
    assert "Namespace" not in agent.get("/v1/agent/service/web?ns=default").json()
    assert "Namespace" not in services(agent)["dflt"]
    keys = list(agent.get("/v1/agent/services?ns=team-a").json()["web"])
    assert ["EnableTagOverride", "Namespace", "Datacenter"] == keys[-3:]
    keys = list(agent.get("/v1/agent/service/web?ns=team-a").json())
    assert ["EnableTagOverride", "ContentHash", "Namespace", "Datacenter"] == keys[-4:]


def test_namespace_does_not_change_content_hash(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "foo", "Tags": ["bar", "baz"], "Port": 8000}, "?ns=team-a")
    assert "3e352f348d44f7eb" == agent.get("/v1/agent/service/foo?ns=team-a").header("X-Consul-ContentHash")


def test_hash_blocking_is_per_namespace(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web", "Port": 1}, "?ns=team-a")
    register_ok(agent, {"Name": "web", "Port": 1})
    current = _hash(agent, "web?ns=team-a")
    blocked = BlockedGet(agent, f"/v1/agent/service/web?ns=team-a&hash={current}&wait=2s")
    blocked.start()
    time.sleep(0.3)
    register_ok(agent, {"Name": "web", "Port": 9})  # default namespace: must not change team-a's answer
    reply = blocked.result()
    assert (200, 1) == (reply.status, reply.json()["Port"])
    assert blocked.elapsed >= 1.9


@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        ("/v1/agent/services?partition=x", "GET", {}),
        ("/v1/agent/service/web?partition=x", "GET", {}),
        (REGISTER + "?partition=x", "PUT", {}),
        ("/v1/agent/service/deregister/web?partition=x", "PUT", {}),
    ],
)
def test_partition_query_is_rejected(
    agent: AgentProcess, path: str, method: str, headers: dict[str, str]
) -> None:
    reply = agent.request(method, path, {"Name": "web"} if method == "PUT" else None, headers=headers)
    assert (
        400,
        'Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature',
    ) == error(reply)
    assert {} == services(agent)


@pytest.mark.parametrize("path", ["/v1/agent/services", "/v1/agent/service/web"])
def test_partition_header_is_rejected(agent: AgentProcess, path: str) -> None:
    reply = agent.get(path, headers={"X-Consul-Partition": "x"})
    assert (
        400,
        'Invalid header: "X-Consul-Partition" - Partitions are a Consul Enterprise feature',
    ) == error(reply)


def test_partition_guard_comes_before_body_decoding(agent: AgentProcess) -> None:
    reply = agent.put(REGISTER + "?partition=x", b"not json")
    assert (
        400,
        'Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature',
    ) == error(reply)


def test_empty_partition_parameter_is_allowed(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web"}, "?partition=")
    assert ["web"] == list(services(agent, "?partition="))


def test_partition_in_body_is_an_unknown_field(agent: AgentProcess) -> None:
    reply = agent.put(REGISTER, {"Name": "web", "Partition": "default"})
    assert (400, 'Request decode failed: json: unknown field "Partition"') == error(reply)


def test_an_empty_sidecar_service_block_registers_a_sidecar_with_every_default(agent: AgentProcess) -> None:
    register_ok(agent, {"Name": "web", "Port": 80, "Connect": {"SidecarService": {}}})

    sidecar = services(agent)["web-sidecar-proxy"]

    assert ("web-sidecar-proxy", "connect-proxy", 21000) == (
        sidecar["Service"],
        sidecar["Kind"],
        sidecar["Port"],
    )
