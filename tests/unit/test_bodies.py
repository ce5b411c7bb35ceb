"""Request bodies as typed Structs: msgspec's fast path gives exactly what the key-normalising fallback
gives, or misses; the decode Schemas derived from the Structs keep Go's names."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from muster import bodies, decode
from muster.acl import bodies as acl_bodies
from muster.bodytypes import BodyType, Duration, GoStruct, go_name
from muster.decode import MAX_NESTING, Schema
from muster.errors import DecodeError

SERVICE = bodies.SERVICE_DEFINITION
CHECK = bodies.CHECK_DEFINITION
TOKEN = acl_bodies.TOKEN_BODY
INT64_MAX = (1 << 63) - 1


def encoded(value: GoStruct) -> bytes:
    """Every value, its JSON type and every map's key order, so that equal means the same."""
    return msgspec.json.encode(value, enc_hook=lambda item: int(item) if isinstance(item, Duration) else item)


def agreement(body_type: BodyType[Any], body: bytes) -> str:
    """`fast` when msgspec alone gave the fallback's value, `miss` when it left the body to the fallback;
    fails when the two differ."""
    fast = body_type.fast(body)
    try:
        slow = body_type.fallback(body)
    except DecodeError:
        assert fast is None, body
        return "miss"
    if fast is None:
        return "miss"
    assert (type(slow), encoded(slow)) == (type(fast), encoded(fast)), body
    assert slow == fast
    return "fast"


REGISTRATION = (
    b'{"ID":"web-1","Name":"web","Tags":["primary","v1"],"Port":8080,"Address":"10.1.2.3",'
    b'"TaggedAddresses":{"lan":{"Address":"10.1.2.3","Port":8080},"wan":{"Address":"198.51.100.3","Port":80}},'
    b'"EnableTagOverride":false,"Meta":{"env":"prod","team":"t1"},"Weights":{"Passing":10,"Warning":1},'
    b'"Checks":[{"CheckID":"web-http","Name":"HTTP","HTTP":"http://10.1.2.3:8080/health","Method":"GET",'
    b'"Header":{"X-Probe":["1","2"]},"Interval":"10s","Timeout":"2s","DeregisterCriticalServiceAfter":"1m"},'
    b'{"CheckID":"web-ttl","Name":"TTL","TTL":"30s","Status":"passing","H2PingUseTLS":false}]}'
)
SIDECAR = (
    b'{"Name":"web","Port":8080,"Locality":{"Region":"r","Zone":"z"},"Connect":{"Native":false,'
    b'"SidecarService":{"Port":21000,"Address":"","Proxy":{"Upstreams":[{"LocalBindPort":9191,'
    b'"DestinationName":"db","Config":{"retries":3,"on":true,"nested":{"list":[1,"a",null]}}}],'
    b'"TransparentProxy":{"DialedDirectly":true},"Expose":{"Paths":[{"Path":"/h","ListenerPort":1}]},'
    b'"Config":{"protocol":"http","big":%d}},"Connect":{"Native":true}}}}' % INT64_MAX
)

CANONICAL: list[tuple[BodyType[Any], bytes]] = [
    (SERVICE, b'{"Name":"reg","ID":"reg-1","Port":8080,"Address":"10.1.2.3","Tags":["a"],"Meta":{"k":"v"}}'),
    (SERVICE, REGISTRATION),
    (SERVICE, SIDECAR),
    (SERVICE, b' \r\n\t{ "Name" : "spaced" } \n'),
    (SERVICE, b'{"Name":"","Tags":[],"Meta":{},"TaggedAddresses":{},"Checks":[],"Address":"","Weights":{}}'),
    (SERVICE, b'{"Name":"x","Port":%d,"Weights":{"Passing":%d,"Warning":0}}' % (INT64_MAX, -INT64_MAX - 1)),
    (SERVICE, b'{"Name":"\\u00e9\\ud83d\\ude00\\n\\/\\"","Meta":{"\xc3\xa9":"\xe2\x82\xac"}}'),
    (SERVICE, b'{"Name":"a","Name":"b","Check":{"TTL":"1s"},"Check":{"TTL":10}}'),
    (SERVICE, b'{"Name":"x","Check":null,"Weights":null,"Connect":null,"Proxy":null,"Address":null}'),
    (SERVICE, b'{"Name":"x","Kind":"connect-proxy","Proxy":{"destination_service_name":"d","Mode":""}}'),
    (SERVICE, b'{"Name":"x","Checks":[{"TTL":"2562047h47m16.854775807s"},{"TTL":"-9223372036854775808ns"}]}'),
    (
        SERVICE,
        b'{"Name":"x","Checks":[{"TTL":%d},{"Interval":%d,"TCP":"a:1"}]}' % (INT64_MAX, -INT64_MAX - 1),
    ),
    (CHECK, b'{"ID":"c","Name":"c","ServiceID":"web","TTL":"10s","Notes":"n","Token":"t","Namespace":"ns"}'),
    (
        CHECK,
        b'{"Name":"h","HTTP":"http://x","Header":{"A":[]},"ScriptArgs":["a"],"Interval":1000,"Shell":"sh"}',
    ),
    (bodies.CHECK_UPDATE, b'{"Status":"passing","Output":"fine"}'),
    (bodies.TOKEN_UPDATE, b'{"Token":"secret"}'),
    (acl_bodies.POLICY_BODY, b'{"Name":"p","Rules":"acl = \\"read\\"","Datacenters":["dc1"],"Partition":""}'),
    (acl_bodies.BOOTSTRAP_REQUEST, b'{"BootstrapSecret":"00000000-0000-4000-8000-000000000000"}'),
    (
        TOKEN,
        b'{"AccessorID":"","SecretID":"s","Policies":[{"ID":"p"},{"Name":"n"}],"Roles":[{"Name":"r"}],'
        b'"ServiceIdentities":[{"ServiceName":"web","Datacenters":["dc1"]}],"NodeIdentities":[{"NodeName":"n",'
        b'"Datacenter":"dc1"}],"TemplatedPolicies":[{"TemplateName":"t"}],"Local":true,"ExpirationTTL":"10m",'
        b'"Hash":"aGFzaA==","CreateIndex":3}',
    ),
    (TOKEN, b'{"AccessorID":null,"TemplatedPolicies":null,"ExpirationTTL":600000000000}'),
]

NOT_CANONICAL: list[tuple[BodyType[Any], bytes]] = [
    (SERVICE, b'{"name":"lower","PORT":80,"tAgS":["a"]}'),
    (SERVICE, b'{"Name":"x","enable_tag_override":true,"tagged_addresses":{"lan":{"address":"a"}}}'),
    (SERVICE, b'{"Name":"x","Checks":[{"args":["a"],"script_args":["b"],"Interval":"1s"}]}'),
    (SERVICE, b'{"Name":"x","Connect":{"sidecar_service":{}}}'),
    (SERVICE, b'{"Name":"x","Connect":{"Proxy":{"Config":{}},"Native":true}}'),
    (SERVICE, b'{"Name":null,"Tags":[null,"a"],"Meta":{"a":null},"Checks":[null]}'),
    (SERVICE, b'{"Name":"x","TaggedAddresses":{"lan":null},"Check":{"Header":{"A":null,"B":["1",null]}}}'),
    (SERVICE, b'{"Name":"x","Port":9223372036854775808}'),
    (SERVICE, b'{"Name":"x","Port":' + b"1" * 5000 + b"}"),
    (SERVICE, b'{"Name":"x","Port":80.0}'),
    (SERVICE, b'{"Name":"x","Port":8e1}'),
    (SERVICE, b'{"Name":"x","Port":true}'),
    (SERVICE, b'{"Name":"x","Check":{"TTL":1.5e9}}'),
    (SERVICE, b'{"Name":"x","Check":{"TTL":true,"Interval":[],"Timeout":{}}}'),
    (SERVICE, b'{"Name":"x","Check":{"TTL":"1d"}}'),
    (SERVICE, b'{"Name":"x","Check":{"TTL":9223372036854775808}}'),
    (SERVICE, b'{"Name":"a\\ud800","Meta":{"\\udc00k":"v"}}'),
    (SERVICE, b'{"Name":"x","Proxy":{"Config":{"\\ud800":"\\udfff"}}}'),
    (SERVICE, b'{"Name":"a\xff\xed\xa0\x80"}'),
    (SERVICE, b'{"Name":"x","Proxy":{"Config":{"a":1.5}}}'),
    (SERVICE, b'{"Name":"x","Proxy":{"Upstreams":[{"Config":{"a":%d}}]}}' % (1 << 70)),
    (SERVICE, b'{"Name":"x","Proxy":{"LocalServicePort":"80"}}'),
    (SERVICE, b'{"Name":"x"} trailing'),
    (SERVICE, b"null"),
    (SERVICE, b""),
    (SERVICE, b"[]"),
    (SERVICE, b'{"Name":"x","Bogus":1}'),
    (SERVICE, b'{"Name":"x","Tags":"a"}'),
    (SERVICE, b'{"Name":"x","Connect":{"SidecarService":{"Namespace":"n"}}}'),
    (SERVICE, b'{"Meta":' + b"[" * MAX_NESTING + b"]" * MAX_NESTING + b"}"),
    (SERVICE, b'{"Proxy":{"Config":' + b'{"a":' * MAX_NESTING + b"1" + b"}" * MAX_NESTING + b"}}"),
    (CHECK, b'{"id":"c","name":"c","ttl":"10s","service_id":"web","disable_redirects":true}'),
    (CHECK, b'{"CheckID":"c"}'),
    (TOKEN, b'{"TemplatedPolicies":[{"TemplateName":1.0}]}'),
    (TOKEN, b'{"ExpirationTTL":1e9,"Partition":"p"}'),
    (TOKEN, b'{"accessorid":"a"}'),
]


@pytest.mark.parametrize(("body_type", "body"), CANONICAL)
def test_a_canonical_body_decodes_with_msgspec_alone_to_the_fallbacks_value(
    body_type: BodyType[Any], body: bytes
) -> None:
    assert "fast" == agreement(body_type, body)


@pytest.mark.parametrize(("body_type", "body"), NOT_CANONICAL)
def test_a_body_the_normaliser_would_change_misses_the_fast_path(
    body_type: BodyType[Any], body: bytes
) -> None:
    assert "miss" == agreement(body_type, body)


@pytest.mark.parametrize(("body_type", "body"), NOT_CANONICAL)
def test_decode_answers_a_miss_with_the_fallbacks_value_or_its_error(
    body_type: BodyType[Any], body: bytes
) -> None:
    try:
        expected: Any = encoded(body_type.fallback(body))
    except DecodeError as exc:
        expected = exc.text
    try:
        actual: Any = encoded(body_type.decode(body))
    except DecodeError as exc:
        actual = exc.text
    assert expected == actual


def test_a_proxy_keeps_the_key_order_it_was_given_on_both_paths() -> None:
    upstream = b'{"LocalBindPort":1,"DestinationName":"y","local_bind_address":"a"}'
    body = b'{"Name":"p","Proxy":{"Upstreams":[%s]}}' % upstream
    snake = body.replace(b'"Name"', b'"name"')
    upstreams = [decoded.proxy["Upstreams"] for decoded in (SERVICE.decode(body), SERVICE.decode(snake))]
    assert [[{"LocalBindPort": 1, "DestinationName": "y", "LocalBindAddress": "a"}]] * 2 == upstreams
    assert [["LocalBindPort", "DestinationName", "LocalBindAddress"]] * 2 == [list(u[0]) for u in upstreams]


def test_absent_and_null_pointers_are_none_and_given_ones_are_kept() -> None:
    given = SERVICE.decode(b'{"Name":"x","Address":"","Weights":{},"Check":{},"Proxy":{}}')
    assert ("", bodies.Weights(), bodies.CheckType(), {}) == (
        given.address,
        given.weights,
        given.check,
        given.proxy,
    )
    for body in (b'{"Name":"x"}', b'{"Name":"x","Address":null,"Weights":null,"Check":null,"Proxy":null}'):
        absent = SERVICE.decode(body)
        assert (None, None, None, None) == (absent.address, absent.weights, absent.check, absent.proxy)


def test_durations_are_nanoseconds_from_either_form() -> None:
    checks = SERVICE.decode(b'{"Checks":[{"TTL":"1m30s"},{"TTL":90000000000},{"TTL":9e10}]}').checks
    assert [90_000_000_000] * 3 == [check.ttl for check in checks]
    assert all(type(check.ttl) is Duration for check in checks)


def test_a_config_file_value_goes_through_the_normaliser_to_the_same_struct() -> None:
    from_file = SERVICE.convert({"name": "web", "port": 80, "checks": [{"ttl": "10s"}], "meta": {"a": "b"}})
    assert SERVICE.decode(b'{"Name":"web","Port":80,"Checks":[{"TTL":"10s"}],"Meta":{"a":"b"}}') == from_file


# -- the Schemas derived from the Structs -----------------------------------------------------------
def test_go_names_spell_initialisms_as_go_does() -> None:
    names = (
        "tcp_use_tls",
        "docker_container_id",
        "os_service",
        "expiration_ttl",
        "proxy_grpc",
        "script_args",
    )
    expected = ["TCPUseTLS", "DockerContainerID", "OSService", "ExpirationTTL", "ProxyGRPC", "ScriptArgs"]
    assert expected == [go_name(name) for name in names]


def _canonical(schema: Schema) -> list[str]:
    return [field.name for field in schema.fields if field.alias_of is None]


def test_the_wire_names_stay_as_consul_spells_them() -> None:
    """Renaming a Python attribute must not rename a JSON key: the names the agent accepts, pinned."""
    check_type = bodies.SERVICE_DEFINITION.schema.by_name["Check"].schema
    assert check_type is not None
    common = (
        "Name Status Notes ScriptArgs HTTP Header Method Body DisableRedirects TCP TCPUseTLS UDP Interval "
        "AliasNode AliasService DockerContainerID Shell GRPC GRPCUseTLS H2PING H2PingUseTLS OSService "
        "TLSServerName TLSSkipVerify Timeout TTL SuccessBeforePassing FailuresBeforeWarning "
        "FailuresBeforeCritical DeregisterCriticalServiceAfter OutputMaxSize ServiceID"
    )
    service = (
        "Kind ID Name Tags Address TaggedAddresses Meta Port SocketPath Check Checks Weights Token "
        "EnableTagOverride Proxy Locality Connect Namespace"
    )
    acl_names = (
        "AccessorID SecretID Description Policies Roles ServiceIdentities NodeIdentities TemplatedPolicies "
        "Local AuthMethod ExpirationTime ExpirationTTL CreateTime Hash CreateIndex ModifyIndex Namespace "
        "Partition AuthMethodNamespace"
    )
    assert service.split() == _canonical(SERVICE.schema)
    assert f"CheckID {common} ProxyHTTP ProxyGRPC".split() == _canonical(check_type)
    assert f"ID {common} Token Namespace".split() == _canonical(CHECK.schema)
    assert acl_names.split() == _canonical(TOKEN.schema)


def test_aliases_feed_the_field_they_name_with_its_kind() -> None:
    aliases = {f.name: (f.alias_of, f.kind) for f in CHECK.schema.fields if f.alias_of is not None}
    assert ("ScriptArgs", decode.STR_LIST) == aliases["args"]
    assert ("DeregisterCriticalServiceAfter", decode.DURATION) == aliases["deregister_critical_service_after"]
    assert ("DisableRedirects", decode.BOOL) == aliases["disable_redirects"]


def test_a_struct_nested_in_itself_gets_a_schema_nested_in_itself() -> None:
    connect = SERVICE.schema.by_name["Connect"].schema
    assert connect is not None
    assert connect.lenient
    sidecar = connect.by_name["SidecarService"].schema
    assert sidecar is not None
    assert connect is sidecar.by_name["Connect"].schema
    assert "Namespace" not in sidecar.by_name


def test_a_field_type_without_a_go_decoding_is_refused_when_the_body_type_is_made() -> None:
    class Odd(GoStruct):
        go_type = "odd"
        ratio: float = 0.0

    with pytest.raises(TypeError, match="no Go decoding"):
        BodyType(Odd)


# -- generated bodies --------------------------------------------------------------------------------
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
_SCALARS = {
    decode.STR: st.text(max_size=4),
    decode.INT: st.integers(min_value=-(1 << 64), max_value=1 << 64),
    decode.BOOL: st.booleans(),
    decode.DURATION: st.sampled_from(["10s", "1m30s", "", "1d", "-5ns", 10**9, 1.5e9, True]),
    decode.STR_LIST: st.lists(st.text(max_size=3) | st.none(), max_size=3),
    decode.STR_MAP: st.dictionaries(st.text(max_size=3), st.text(max_size=3) | st.none(), max_size=3),
    decode.HEADER_MAP: st.dictionaries(
        st.text(max_size=3), st.lists(st.text(max_size=3), max_size=2), max_size=2
    ),
    decode.OPAQUE: _JSON,
}
_KEY_FORMS = st.sampled_from(["canonical", "canonical", "canonical", "lower", "upper"])


@st.composite
def _object(draw: st.DrawFn, schema: Schema, depth: int = 0) -> dict[str, Any]:
    """A JSON object for `schema`: mostly Go's names and right types, sometimes not (another case, an
    alias, a null, a value of the wrong JSON type, an unknown key)."""
    out: dict[str, Any] = {}
    fields = draw(st.lists(st.sampled_from(schema.fields), max_size=5, unique_by=lambda f: f.name))
    for field in fields:
        form = draw(_KEY_FORMS)
        key = field.name.lower() if form == "lower" else field.name.upper() if form == "upper" else field.name
        out[key] = draw(_value(field.kind, field.schema, depth))
    if draw(st.integers(0, 9)) == 0:
        out[draw(st.text(max_size=3))] = draw(_JSON)
    return out


def _value(kind: str, schema: Schema | None, depth: int) -> st.SearchStrategy[Any]:
    odd = st.none() | _JSON
    if schema is None:
        return st.one_of(_SCALARS[kind], _SCALARS[kind], odd)
    if depth >= 2:
        return st.just({})
    one = _object(schema, depth + 1)
    wrapped = {
        decode.STRUCT: one,
        decode.STRUCT_LIST: st.lists(one, max_size=2),
        decode.STRUCT_MAP: st.dictionaries(st.text(), one),
    }
    return st.one_of(wrapped[kind], wrapped[kind], odd)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_generated_bodies_decode_fast_only_to_the_fallbacks_value(data: st.DataObject) -> None:
    body_type = data.draw(st.sampled_from([SERVICE, CHECK, TOKEN, acl_bodies.POLICY_BODY]))
    body = json.dumps(data.draw(_object(body_type.schema))).encode()
    agreement(body_type, body)
