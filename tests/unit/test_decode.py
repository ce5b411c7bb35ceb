from __future__ import annotations

import pytest

from muster.decode import decode_body
from muster.errors import DecodeError
from muster.schemas import CHECK_DEFINITION, SERVICE_DEFINITION


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
