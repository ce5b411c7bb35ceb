from __future__ import annotations

import pytest

from muster import golang
from muster.filter import SCHEMAS, FilterError, compile_filter
from muster.golang import (
    encode_json,
    format_duration,
    indent_json,
    parse_bool,
    parse_duration,
    quote,
    to_bytes,
    unquote,
)


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("10s", 10_000_000_000),
        ("1m30s", 90_000_000_000),
        ("100ms", 100_000_000),
        ("1.5h", 5_400_000_000_000),
        ("2h0m15s", 7_215_000_000_000),
        ("-50ms", -50_000_000),
        ("0", 0),
        ("+5s", 5_000_000_000),
        ("1.5us", 1500),
        ("1.5\u00b5s", 1500),
        ("1.5\u03bcs", 1500),
        ("10ns", 10),
        (".5s", 500_000_000),
    ],
)
def test_parse_duration_accepts_go_syntax(text: str, nanos: int) -> None:
    assert nanos == parse_duration(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("abc", 'time: invalid duration "abc"'),
        ("10", 'time: missing unit in duration "10"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        (" 1s", 'time: invalid duration " 1s"'),
        ("9999999999h", 'time: invalid duration "9999999999h"'),
    ],
)
def test_parse_duration_errors_are_gos_texts(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^") as info:
        parse_duration(text)
    assert message == str(info.value)


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1500, "1.5\u00b5s"),
        (100_000_000, "100ms"),
        (1_500_000, "1.5ms"),
        (10_000_000_000, "10s"),
        (60_000_000_000, "1m0s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (72 * 3_600_000_000_000, "72h0m0s"),
        (3_723_500_000_000, "1h2m3.5s"),
        (-50_000_000, "-50ms"),
    ],
)
def test_format_duration_matches_go(nanos: int, text: str) -> None:
    assert text == format_duration(nanos)


def test_parse_bool_is_gos_parsebool() -> None:
    for text in ("1", "t", "T", "TRUE", "true", "True"):
        assert parse_bool(text) is True
    for text in ("0", "f", "F", "FALSE", "false", "False"):
        assert parse_bool(text) is False
    for text in ("", "yes", "tRuE"):
        with pytest.raises(ValueError, match=r"^"):
            parse_bool(text)


def test_quote_matches_go_percent_q() -> None:
    assert '"web"' == quote("web")
    assert '"a\\"b\\\\c\\n\\x01"' == quote('a"b\\c\n\x01')
    assert '"caf\u00e9"' == quote("caf\u00e9")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\udcffb", '"a\\xffb"'),  # an escaped byte that is not UTF-8: Go prints the byte
        ("\udc80\udcc3", '"\\x80\\xc3"'),
        ("a\ud800b", '"a\ufffdb"'),  # a lone surrogate: U+FFFD, as Go's decoders make it
        ("\udfff\udc7f\udd00", '"\ufffd\ufffd\ufffd"'),
        ("\ufffd", '"\ufffd"'),  # printable: as itself
        ("\u00a0\u2028\U000e0001", '"\\u00a0\\u2028\\U000e0001"'),
        ("\a\b\f\r\t\v\x7f", '"\\a\\b\\f\\r\\t\\v\\x7f"'),
    ],
)
def test_quote_prints_what_go_prints_for_the_bytes_a_string_stands_for(text: str, expected: str) -> None:
    assert expected == quote(text)
    assert to_bytes(text) == to_bytes(unquote(expected) or "")  # Go: Unquote(Quote(b)) == b


def test_to_bytes_keeps_escaped_bytes_and_makes_other_surrogates_replacement_characters() -> None:
    assert b"a\xff\xef\xbf\xbd" == to_bytes("a\udcff\ud800")


def test_unquote_carries_bytes_that_are_not_utf8_as_escaped_bytes() -> None:
    assert "\udcff\u00e9" == unquote('"\\xff\\u00e9"')
    assert quote("\udcff") == '"\\xff"' == quote(unquote('"\\377"') or "")


def test_the_filter_and_the_api_quote_a_string_alike() -> None:
    """One strconv.Quote: a filter's coercion error and an API error text print the same bytes."""
    with pytest.raises(FilterError) as caught:
        compile_filter('Port == "a\\xff\\x00"', SCHEMAS["AgentService"])
    with pytest.raises(ValueError, match="invalid duration") as duration:
        parse_duration("a\udcff\x00")
    printed = quote("a\udcff\x00")
    assert '"a\\xff\\x00"' == printed
    assert f"parsing {printed}: invalid syntax" in str(caught.value)
    assert f"time: invalid duration {printed}" == str(duration.value)
    assert golang.quote is quote


def test_encode_json_escapes_html_characters_like_go() -> None:
    assert b'{"a":"\\u003cb\\u003e \\u0026 \\u2028"}' == encode_json({"a": "<b> & \u2028"})


def test_indent_json_uses_four_spaces() -> None:
    assert b'{\n    "a": [\n        1\n    ],\n    "b": {}\n}' == indent_json(b'{"a":[1],"b":{}}')
