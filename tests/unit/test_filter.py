"""The filter package against go-bexpr v0.1.2's observed behaviour: every shared test vector, then the
semantics the vectors only sample, the limits, and properties over random input."""

from __future__ import annotations

import contextlib
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from muster.filter import MAX_EXPRESSION_BYTES, MAX_NESTING, SCHEMAS, FilterError, compile_filter
from muster.filter.ast import Match
from muster.filter.leaves import MISSING
from muster.filter.parser import parse, parse_exact

VECTORS_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "bexpr_vectors.json"
CONSUL_PREFIX = "Failed to create boolean expression evaluator: "


def _load_vectors() -> list[dict[str, Any]]:
    if not VECTORS_PATH.is_file():  # never skip: the vectors are the contract
        raise FileNotFoundError(f"the bexpr test vectors are missing: {VECTORS_PATH}")
    vectors: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    return vectors


VECTORS = _load_vectors()

# Vectors where go-bexpr v0.1.2 panics on a null struct pointer: Muster's answer, a missing value.
MUSTER_OUTCOME_FOR_PANICS = {
    "Connect.Native == true": False,
    'Proxy.DestinationServiceName == "web" and Kind == "connect-proxy"': False,
}

WEB = next(v["data"] for v in VECTORS if v["fixture"] == "WEB")
PROXY = next(v["data"] for v in VECTORS if v["fixture"] == "PROXY")
PROXY_BARE = next(v["data"] for v in VECTORS if v["fixture"] == "PROXY_BARE")
NESTED = next(v["data"] for v in VECTORS if v["fixture"] == "NESTED")
FLAT = next(v["data"] for v in VECTORS if v["fixture"] == "FLAT")


def consul_body(vector: dict[str, Any], error: FilterError) -> str:
    """What Consul (AgentService vectors) or go-bexpr (the others) says for `error`."""
    if vector["schema"] == "AgentService" and error.at_creation:
        return CONSUL_PREFIX + str(error)
    return str(error)


def outcome(expression: str, value: Any, schema: str = "AgentService") -> bool | str:
    try:
        return compile_filter(expression, SCHEMAS[schema]).matches(value)
    except FilterError as exc:
        return str(exc)


def test_the_vector_file_has_vectors_for_known_schemas_only() -> None:
    assert len(VECTORS) >= 168
    assert {v["schema"] for v in VECTORS} <= set(SCHEMAS)


def muster_outcome_for_panic(expression: str) -> bool:
    """Muster's answer where go-bexpr panics: listed, or for a single match the missing-value answer."""
    if expression in MUSTER_OUTCOME_FOR_PANICS:
        return MUSTER_OUTCOME_FOR_PANICS[expression]
    tree = parse(expression)
    assert isinstance(tree, Match), f"decide Muster's outcome for the panic vector {expression!r}"
    return MISSING[tree.op]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    schema = SCHEMAS[vector["schema"]]
    if vector.get("panic"):
        expected: bool | str = muster_outcome_for_panic(vector["expr"])
    elif vector["expect"] == "error":
        expected = vector["error"]
    else:
        expected = vector["expect"]
    try:
        actual: bool | str = compile_filter(vector["expr"], schema).matches(vector["data"])
    except FilterError as exc:
        actual = consul_body(vector, exc)
    assert expected == actual


# --- the empty expression and whitespace -------------------------------------------------------------


def test_an_empty_expression_keeps_everything() -> None:
    assert compile_filter("", SCHEMAS["AgentService"]).filter([WEB, PROXY, {}]) == [WEB, PROXY, {}]


def test_an_expression_of_only_whitespace_is_a_syntax_error() -> None:
    expected = (
        '1:3 (2): no match found, expected: "(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]'
    )
    assert expected == outcome(" \t", WEB)


# --- selectors, operators and coercion ---------------------------------------------------------------


def coerce_error(raw: str, selector: str, func: str, reason: str = "invalid syntax") -> str:
    return (
        f'Failed to coerce value "{raw}" for selector "{selector}": strconv.{func}: parsing "{raw}": {reason}'
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('Port == "0x1F90"', True),
        ('Port == "017620"', True),
        ('Port == "8_080"', True),
        ('Port == "+8080"', True),
        ('Port == "0o17620"', True),
        ('Port == "0b1111110010000"', True),
        ('Port == "0x_1F90"', True),
        ('Port == " 8080"', coerce_error(" 8080", "Port", "ParseInt")),
        ('Port == "_8080"', coerce_error("_8080", "Port", "ParseInt")),
        ('Port == "8080_"', coerce_error("8080_", "Port", "ParseInt")),
        ('Port == "1e3"', coerce_error("1e3", "Port", "ParseInt")),
        ("EnableTagOverride == yes", coerce_error("yes", "EnableTagOverride", "ParseBool")),
        ("EnableTagOverride == F", True),
        ('Port == "a\\x22b"', coerce_error('a\\"b', "Port", "ParseInt")),
    ],
)
def test_values_are_coerced_with_go_strconv_rules(expression: str, expected: bool | str) -> None:
    assert expected == outcome(expression, WEB)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Int8 == 127", False),
        ("Int8 == 128", coerce_error("128", "Int8", "ParseInt", "value out of range")),
        ("Int8 == -129", coerce_error("-129", "Int8", "ParseInt", "value out of range")),
        ("Int8 == -128", False),
        ("Uint8 == 256", coerce_error("256", "Uint8", "ParseUint", "value out of range")),
        ("Uint == -1", coerce_error("-1", "Uint", "ParseUint")),
        (
            'Int == "99999999999999999999x"',
            coerce_error("99999999999999999999x", "Int", "ParseInt", "value out of range"),
        ),
        ("Float32 == 1.1", True),
        ('Float64 == "0x1.3333333333333p+0"', True),
        ('Float64 == "1_.2"', coerce_error("1_.2", "Float64", "ParseFloat")),
        ('Float32 == "1e39"', coerce_error("1e39", "Float32", "ParseFloat", "value out of range")),
        ('Float64 != "+Inf"', True),
        ('Float64 == "infin"', coerce_error("infin", "Float64", "ParseFloat")),
    ],
)
def test_numeric_fields_respect_their_go_kind(expression: str, expected: bool | str) -> None:
    assert expected == outcome(expression, FLAT, "FlatStruct")


def test_every_match_is_checked_even_in_branches_evaluation_never_reaches() -> None:
    assert 'Selector "Bogus" is not valid' == outcome('Service == "web" or Bogus == 1', WEB)
    assert 'Invalid match operator "In" for selector "Port"' == outcome("Service == web or 1 in Port", WEB)


def test_the_first_invalid_match_in_source_order_is_reported() -> None:
    assert 'Selector "A" is not valid' == outcome("(Service == x or A == 1) and B == 2", WEB)


def test_hidden_fields_are_not_selectable() -> None:
    for selector in ("Namespace", "Datacenter", "CreateIndex", "Proxy.Config", "Connect.SidecarService"):
        assert f'Selector "{selector}" is not valid' == outcome(f'{selector} == "x"', PROXY)


def test_selector_errors_name_the_path_up_to_the_first_unknown_part() -> None:
    assert 'Selector "Meta.env.x" is not valid' == outcome('Meta["env"].x == 1', WEB)
    assert 'Selector "Weights.Passing.x" is not valid' == outcome("Weights.Passing.x == 1", WEB)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("(?=x)", '"(?=x)": error parsing regexp: invalid or unsupported Perl syntax: `(?=`'),
        ("a**", '"a**": error parsing regexp: invalid nested repetition operator: `**`'),
        ("\\C", '"\\\\C": error parsing regexp: invalid escape sequence: `\\C`'),
        ("\\Z", '"\\\\Z": error parsing regexp: invalid escape sequence: `\\Z`'),
        ("[z-a]", '"[z-a]": error parsing regexp: invalid character class range: `z-a`'),
        ("x{1001}", '"x{1001}": error parsing regexp: invalid repeat count: `{1001}`'),
        ("\\", '"\\\\": error parsing regexp: trailing backslash at end of expression: ``'),
    ],
)
def test_bad_regexes_fail_with_go_regexp_texts(pattern: str, expected: str) -> None:
    assert "Failed to compile regular expression " + expected == outcome(f"Service matches `{pattern}`", WEB)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("^web$", True),
        ("^we", True),
        ("eb$", True),
        ("b", True),
        ("^eb", False),
        ("w.b\\z", True),
        ("(?i)^WEB", True),
    ],
)
def test_matches_is_an_unanchored_re2_search(pattern: str, expected: bool) -> None:
    assert expected == outcome(f"Service matches `{pattern}`", WEB)


# --- evaluation --------------------------------------------------------------------------------------

MISSING_KEY_TABLE = [
    ("==", False),
    ("!=", True),
    ("matches", True),
    ("not matches", True),
    ("contains", False),
    ("not contains", True),
]


@pytest.mark.parametrize(("operator", "expected"), MISSING_KEY_TABLE)
def test_a_missing_map_key_answers_by_operator(operator: str, expected: bool) -> None:
    assert expected == outcome(f'Meta.missing {operator} "x"', WEB)


@pytest.mark.parametrize(("operator", "expected"), MISSING_KEY_TABLE)
def test_a_null_struct_pointer_is_a_missing_value(operator: str, expected: bool) -> None:
    assert expected == outcome(f'Proxy.DestinationServiceName {operator} "x"', WEB)
    assert expected == outcome(f'Proxy.AccessLogs.Path {operator} "x"', PROXY_BARE)


def test_emptiness_through_a_null_struct_pointer() -> None:
    assert outcome("Proxy.Upstreams is empty", WEB) is True
    assert outcome("Proxy.Upstreams is not empty", WEB) is False
    assert outcome("Proxy.AccessLogs.Enabled != true", PROXY) is True


def test_selectors_through_slices_of_structs_match_any_element() -> None:
    assert outcome('Proxy.Upstreams.DestinationName != "db"', PROXY) is True  # "cache" differs
    assert outcome('not Proxy.Upstreams.DestinationName == "db"', PROXY) is False
    assert outcome('Proxy.Upstreams.Datacenter == ""', PROXY) is True  # absent = Go's zero value


def test_in_means_substring_element_or_key() -> None:
    assert outcome('"prim" in Tags', WEB) is False
    assert outcome('"prim" in Service', {"Service": "primary"}) is True
    assert outcome('"prod" in Meta', WEB) is False
    assert outcome('"" in Service', WEB) is True


def test_absent_fields_are_go_zero_values() -> None:
    assert outcome('Kind == ""', WEB) is True
    assert outcome("Port == 0", {}) is True
    assert outcome("Weights.Passing == 0", {"Weights": None}) is True
    assert outcome("Tags is empty", {"Tags": None}) is True


def test_a_null_element_in_a_slice_of_pointers_fails_evaluation_without_the_prefix() -> None:
    flt = compile_filter("Nested.SliceOfPointersToStructs.X == 5", SCHEMAS["NestedTypes"])
    with pytest.raises(FilterError) as raised:
        flt.filter([NESTED])
    assert not raised.value.at_creation
    assert raised.value.kind == "evaluation"
    expected = (
        'Value at selector "Nested.SliceOfPointersToStructs" with type invalid does not support nested field'
        " selection"
    )
    assert expected == str(raised.value)


def test_health_checks_filter_on_their_go_field_names() -> None:
    check = {
        "Node": "n1",
        "CheckID": "service:web",
        "Name": "redis",
        "Status": "passing",
        "ServiceName": "web-1",
        "ServiceTags": ["a"],
        "Type": "ttl",
        "Definition": {},
        "CreateIndex": 0,
    }
    assert outcome("Name == `redis`", check, "HealthCheck") is True
    assert outcome("ServiceName matches `web.*` and a in ServiceTags", check, "HealthCheck") is True
    assert 'Selector "Definition" is not valid' == outcome("Definition is empty", check, "HealthCheck")


def test_filter_keeps_matching_values_in_order() -> None:
    services = [WEB, PROXY, PROXY_BARE, {"Service": "web", "Port": 1}]
    assert [WEB, services[3]] == compile_filter("Service == web", SCHEMAS["AgentService"]).filter(services)


def test_float32_fields_compare_at_float32_precision_and_nan_equals_nothing() -> None:
    assert outcome("Float32 == 1.1", {"Float32": 1.1000000238418579}, "FlatStruct") is True
    assert outcome('Float64 == "NaN"', {"Float64": math.nan}, "FlatStruct") is False


# --- limits and linear time --------------------------------------------------------------------------


def nested_expression(levels: int, length: int) -> str:
    """`levels` nested parenthesised groups of real clauses, padded with `or` clauses to `length`."""
    inner = 'Service == "web"'
    for level in range(levels):
        inner = f'(Meta.env == "prod" and Port != {level} or ({inner}) and "primary" in Tags)'
    while len(inner) < length:
        inner += " or Weights.Passing == 1"
    return inner


def best_time(function: Any, *args: Any) -> float:
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        with contextlib.suppress(FilterError):
            function(*args)
        best = min(best, time.perf_counter() - start)
    return best


def test_a_ten_thousand_character_expression_nested_a_hundred_deep_parses_in_under_10_ms() -> None:
    expression = nested_expression(100, 10_000)
    assert len(expression) >= 10_000
    assert best_time(parse, expression) < 0.010
    assert compile_filter(expression, SCHEMAS["AgentService"]).matches(WEB) is True


def test_the_exact_parser_is_linear_in_nesting_depth_even_when_the_input_is_wrong() -> None:
    shallow, deep = "(" * 20 + "Port == 1" + ")" * 19, "(" * 200 + "Port == 1" + ")" * 199
    with pytest.raises(FilterError, match="Unmatched parentheses"):
        parse(deep)
    assert best_time(parse_exact, deep) < 30 * best_time(parse_exact, shallow) + 0.01


def test_nesting_up_to_the_limit_is_accepted() -> None:
    expression = "(" * MAX_NESTING + "not Port == 1" + ")" * MAX_NESTING
    flt = compile_filter(expression, SCHEMAS["AgentService"])
    assert flt.matches(WEB) is True
    assert flt.matches({"Port": 1}) is False


def test_nesting_past_the_limit_is_a_limit_error_not_a_recursion_error() -> None:
    expected = f"1:{MAX_NESTING + 1} ({MAX_NESTING}): parentheses nest deeper than {MAX_NESTING} levels"
    for expression in (
        "(" * (MAX_NESTING + 1) + "x == 1" + ")" * (MAX_NESTING + 1),
        "(" * 60_000,
        "(" * 60_000 + "x",
    ):
        with pytest.raises(FilterError) as raised:
            compile_filter(expression, SCHEMAS["AgentService"])
        assert raised.value.kind == "limit"
        assert expected == str(raised.value)


def test_deeply_alternating_groups_evaluate_without_recursion() -> None:
    expression = "Port == 1"
    for level in range(MAX_NESTING):
        expression = f"not (Port == 2 {'and' if level % 2 else 'or'} {expression})"
    assert compile_filter(expression, SCHEMAS["AgentService"]).matches(WEB) in (True, False)


def test_long_chains_and_not_runs_need_no_recursion() -> None:
    chain = " or ".join(f"Port == {i}" for i in range(3000))
    assert compile_filter(chain, SCHEMAS["AgentService"]).matches({"Port": 2999}) is True
    assert compile_filter("not " * 10_001 + "Port == 1", SCHEMAS["AgentService"]).matches(WEB) is True


def test_expressions_over_64_kib_are_rejected() -> None:
    at_limit = 'Service == "' + "x" * (MAX_EXPRESSION_BYTES - 13) + '"'
    assert len(at_limit.encode()) == MAX_EXPRESSION_BYTES
    assert compile_filter(at_limit, SCHEMAS["AgentService"]).matches(WEB) is False
    over = 'Service == "' + "é" * (MAX_EXPRESSION_BYTES // 2) + '"'  # counted in UTF-8 bytes
    with pytest.raises(FilterError) as raised:
        compile_filter(over, SCHEMAS["AgentService"])
    assert raised.value.kind == "limit"
    assert f"filter expression is {MAX_EXPRESSION_BYTES + 13} bytes long; the limit is 65536" == str(
        raised.value
    )


# --- properties --------------------------------------------------------------------------------------

SCHEMA_NAMES = sorted(SCHEMAS)
FIXTURES = [WEB, PROXY, PROXY_BARE, NESTED, FLAT, {}, {"Meta": None, "Proxy": {"Upstreams": [None]}}]


def survives(text: str) -> None:
    """Compile and run `text` on every schema and fixture; only FilterError may come out."""
    for name in SCHEMA_NAMES:
        try:
            flt = compile_filter(text, SCHEMAS[name])
        except FilterError:
            continue
        for fixture in FIXTURES:
            with contextlib.suppress(FilterError):
                assert flt.matches(fixture) in (True, False)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text_raises_nothing_but_filter_error(text: str) -> None:
    survives(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_random_bytes_raise_nothing_but_filter_error(data: bytes) -> None:
    survives(data.decode("utf-8", "surrogateescape"))


WORDS = [
    "Service",
    "Meta",
    "Tags",
    "Port",
    "Proxy",
    "Upstreams",
    "Nested",
    "Int8",
    "foo",
    "not",
    "in",
    "is",
    "and",
    "or",
    "empty",
    "matches",
    "contains",
    "==",
    "!=",
    "(",
    ")",
    '"x"',
    "`y`",
    "1",
    "-2",
    ".",
    "[",
    "]",
    '["k"]',
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join))
def test_random_token_sequences_raise_nothing_but_filter_error(text: str) -> None:
    survives(text)
