from __future__ import annotations

import pytest

from muster.golang import encode_json, format_duration, indent_json, parse_bool, parse_duration, quote


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


def test_encode_json_escapes_html_characters_like_go() -> None:
    assert b'{"a":"\\u003cb\\u003e \\u0026 \\u2028"}' == encode_json({"a": "<b> & \u2028"})


def test_indent_json_uses_four_spaces() -> None:
    assert b'{\n    "a": [\n        1\n    ],\n    "b": {}\n}' == indent_json(b'{"a":[1],"b":{}}')
