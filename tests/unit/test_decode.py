from __future__ import annotations

import math

import pytest

from muster import bodies
from muster.decode import MAX_NESTING, check_nesting, decode_body, decode_struct
from muster.errors import DecodeError

SERVICE_DEFINITION = bodies.SERVICE_DEFINITION.schema
CHECK_DEFINITION = bodies.CHECK_DEFINITION.schema


def decode_error(body: bytes) -> str:
    with pytest.raises(DecodeError) as info:
        decode_body(body, SERVICE_DEFINITION)
    return info.value.text


def test_keys_match_case_insensitively_and_aliases_fold_in() -> None:
    fields = decode_body(
        b'{"name":"web","PORT":80,"enable_tag_override":true,"checks":[{"ttl":"10s","script_args":["x"]}]}',
        SERVICE_DEFINITION,
    )
    assert {"Name": "web", "Port": 80, "EnableTagOverride": True} == {
        k: fields[k] for k in ("Name", "Port", "EnableTagOverride")
    }
    assert [{"TTL": 10_000_000_000, "ScriptArgs": ["x"]}] == fields["Checks"]


def test_camel_case_wins_over_alias_when_set() -> None:
    fields = decode_body(b'{"Checks":[{"ScriptArgs":["a"],"args":["b"],"TTL":"1s"}]}', SERVICE_DEFINITION)
    assert ["a"] == fields["Checks"][0]["ScriptArgs"]


def test_trailing_bytes_after_the_first_value_are_ignored() -> None:
    assert {"Name": "a"} == decode_body(b'{"Name":"a"} garbage', SERVICE_DEFINITION)


def test_null_body_decodes_to_nothing() -> None:
    assert {} == decode_body(b"null", SERVICE_DEFINITION)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "EOF"),
        (b"  \n", "EOF"),
        (b'{"Name":', "unexpected EOF"),
        (b'{"Name":"a","Bogus":1}', 'json: unknown field "Bogus"'),
        (b'{"Check":{"ID":"x"}}', 'json: unknown field "ID"'),
        (b'{"Partition":"p"}', 'json: unknown field "Partition"'),
        (b'{"Port":"80"}', "json: cannot unmarshal string into Go struct field .Port of type int"),
        (b'{"Port":80.5}', "json: cannot unmarshal number 80.5 into Go struct field .Port of type int"),
        (b'{"Meta":{"a":1}}', "json: cannot unmarshal number into Go struct field .Meta of type string"),
        (
            b'{"EnableTagOverride":"true"}',
            "json: cannot unmarshal string into Go struct field .EnableTagOverride of type bool",
        ),
        (b'{"Check":{"TTL":""}}', 'time: invalid duration ""'),
        (b'{"Check":{"TTL":"10"}}', 'time: missing unit in duration "10"'),
        (b'{"Check":{"TTL":"1d"}}', 'time: unknown unit "d" in duration "1d"'),
    ],
)
def test_errors_are_gos_texts(body: bytes, message: str) -> None:
    assert message == decode_error(body)


def test_durations_accept_nanosecond_numbers_and_ignore_other_types() -> None:
    fields = decode_body(b'{"Checks":[{"Interval":10,"TTL":true,"Timeout":1.5e9}]}', SERVICE_DEFINITION)
    assert {"Interval": 10, "Timeout": 1_500_000_000} == fields["Checks"][0]


def test_connect_is_lenient_but_its_sidecar_is_strict() -> None:
    fields = decode_body(b'{"Connect":{"Proxy":{},"sidecar_service":{"port":5}}}', SERVICE_DEFINITION)
    assert {"SidecarService": {"Port": 5}} == fields["Connect"]
    assert 'json: unknown field "Bogus"' == decode_error(b'{"Connect":{"SidecarService":{"Bogus":1}}}')


def test_meta_values_are_opaque() -> None:
    fields = decode_body(b'{"Meta":{"some_key":"v","CamelKey":"w"}}', SERVICE_DEFINITION)
    assert {"some_key": "v", "CamelKey": "w"} == fields["Meta"]


def test_check_register_takes_id_not_checkid() -> None:
    assert {"ID": "x", "Name": "n"} == decode_body(b'{"id":"x","name":"n"}', CHECK_DEFINITION)
    with pytest.raises(DecodeError) as info:
        decode_body(b'{"CheckID":"x"}', CHECK_DEFINITION)
    assert 'json: unknown field "CheckID"' == info.value.text


def test_lone_surrogates_become_replacement_characters() -> None:
    assert {"Name": "a\ufffd"} == decode_body(b'{"Name":"a\\ud800"}', SERVICE_DEFINITION)


INT64_MAX = (1 << 63) - 1
HUGE = "1" + "0" * 320  # beyond float64: Go's ParseFloat fails, so Consul's decoder does


@pytest.mark.parametrize("key", ["Interval", "Timeout", "TTL", "DeregisterCriticalServiceAfter"])
def test_every_duration_accepts_the_int64_range_in_each_form(key: str) -> None:
    body = (
        b'{"Checks":[{"%s":%d},{"%s":%d},{"%s":"2562047h47m16.854775807s"},{"%s":"-9223372036854775808ns"}]}'
    )
    fields = decode_body(
        body % (key.encode(), INT64_MAX, key.encode(), -INT64_MAX - 1, key.encode(), key.encode()),
        SERVICE_DEFINITION,
    )
    assert [INT64_MAX, -INT64_MAX - 1, INT64_MAX, -INT64_MAX - 1] == [
        check[key] for check in fields["Checks"]
    ]


@pytest.mark.parametrize(
    ("value", "go_type"),
    [
        (HUGE, "float64"),
        ("1e400", "float64"),
        ("-1e400", "float64"),
        ("1" * 5000, "float64"),  # longer than Python converts to an int
        ("9223372036854775808", "time.Duration"),
        ("-9223372036854775809", "time.Duration"),
        ("1e30", "time.Duration"),
        ("9.3e18", "time.Duration"),
    ],
)
def test_a_duration_number_out_of_range_is_refused_with_gos_text(value: str, go_type: str) -> None:
    for body, path in (
        (b'{"Name":"c","TTL":%s}', ".TTL"),
        (b'{"Name":"c","Timeout":%s}', ".Timeout"),
        (b'{"Name":"c","Interval":%s}', ".Interval"),
        (b'{"Name":"c","deregister_critical_service_after":%s}', ".deregister_critical_service_after"),
    ):
        with pytest.raises(DecodeError) as info:
            decode_body(body % value.encode(), CHECK_DEFINITION)
        assert (
            f"json: cannot unmarshal number {value} into Go struct field {path} of type {go_type}"
            == info.value.text
        )
    assert (
        f"json: cannot unmarshal number {value} into Go struct field .Check.TTL of type {go_type}"
        == decode_error(b'{"Name":"s","Check":{"TTL":%s}}' % value.encode())
    )


def test_config_file_numbers_are_range_checked_as_json_ones() -> None:
    # Config files reach decode_struct as plain Python values (json.loads, python-hcl2).
    assert {"TTL": 1_500_000_000} == decode_struct({"TTL": 1.5e9}, CHECK_DEFINITION)
    for value, go_type in ((10**320, "float64"), (math.inf, "float64"), (2**63, "time.Duration")):
        with pytest.raises(DecodeError) as info:
            decode_struct({"TTL": value}, CHECK_DEFINITION)
        assert (
            f"json: cannot unmarshal number {value} into Go struct field .TTL of type {go_type}"
            == info.value.text
        )


def test_an_integer_too_long_for_python_is_a_type_error_not_a_crash() -> None:
    digits = "1" * 5000
    assert f"json: cannot unmarshal number {digits} into Go struct field .Port of type int" == decode_error(
        b'{"Port":%s}' % digits.encode()
    )


def test_an_opaque_number_is_a_float64_as_go_holds_it_and_one_beyond_is_refused() -> None:
    assert (
        f"json: cannot unmarshal number {HUGE} into Go struct field .Proxy.Config of type float64"
        == decode_error(b'{"Proxy":{"Config":{"a":[%s]}}}' % HUGE.encode())
    )
    fields = decode_body(b'{"Proxy":{"Config":{"a":%d,"b":%d}}}' % (1 << 70, INT64_MAX), SERVICE_DEFINITION)
    assert {"a": float(1 << 70), "b": INT64_MAX} == fields["Proxy"]["Config"]


def test_nesting_up_to_the_limit_decodes_and_one_more_level_is_refused() -> None:
    config = b'{"a":' * (MAX_NESTING - 2) + b"1" + b"}" * (MAX_NESTING - 2)  # the body's 2 levels + these
    fields = decode_body(b'{"Name":"x","Proxy":{"Config":%s}}' % config, SERVICE_DEFINITION)
    assert "x" == fields["Name"]
    for opener, closer in ((b"[", b"]"), (b'{"a":', b"}")):
        deeper = b'{"Meta":' + opener * MAX_NESTING + b"1" + closer * MAX_NESTING + b"}"
        assert f"invalid character {opener[:1].decode()!r} exceeded max depth" == decode_error(deeper)


def test_brackets_inside_strings_do_not_count_towards_nesting() -> None:
    body = b'{"Name":"' + b'[{\\"' * MAX_NESTING + b'"}'
    assert {"Name": '[{"' * MAX_NESTING} == decode_body(body, SERVICE_DEFINITION)


def test_a_deep_body_is_refused_without_recursing() -> None:
    assert "invalid character '[' exceeded max depth" == decode_error(b"[" * 4_000_000)
    with pytest.raises(DecodeError) as info:
        check_nesting(b'{"a":' * 100_000)
    assert "invalid character '{' exceeded max depth" == info.value.text


def test_a_lone_surrogate_in_a_key_is_cleaned_as_in_values() -> None:
    assert 'json: unknown field "\ufffd"' == decode_error(b'{"\\ud800":1}')
    fields = decode_body(
        b'{"Meta":{"\\udc00k":"v"},"Proxy":{"Config":{"\\ud800":"\\udfff"}}}', SERVICE_DEFINITION
    )
    assert ({"\ufffdk": "v"}, {"\ufffd": "\ufffd"}) == (fields["Meta"], fields["Proxy"]["Config"])
