"""`muster agent`'s flags: generated from SETTINGS, parsed as Consul's agent (Go's flag package) parses
them, resolved by config.load. No process: click's make_context parses without running the agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest

from muster import config, settings
from muster.cli.agent import agent

ROOT = Path(__file__).resolve().parents[2]


def parse(*args: str) -> dict[str, Any]:
    """The flags given (click's value for every other option is None or an empty tuple)."""
    params = agent.make_context("agent", list(args)).params
    return {name: value for name, value in params.items() if value not in (None, ())}


def usage_error(*args: str) -> str:
    with pytest.raises(click.UsageError) as info:
        agent.make_context("agent", list(args))
    return info.value.format_message()


def load(*args: str) -> config.AgentConfig:
    return config.load(agent.make_context("agent", list(args)).params, environ={"XDG_DATA_HOME": "/x"})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-ui",), True),
        (("--ui",), True),
        (("-ui=false",), False),
        (("--ui=false",), False),
        *(((f"-ui={word}",), True) for word in ("1", "t", "T", "TRUE", "true", "True")),
        *(((f"-ui={word}",), False) for word in ("0", "f", "F", "FALSE", "false", "False")),
        (("-ui=false", "-ui"), True),  # the last one given wins
    ],
)
def test_a_boolean_flag_takes_go_strconv_parsebool_values_after_equals(
    args: tuple[str, ...], expected: bool
) -> None:
    assert {"ui": expected} == parse(*args)


def test_ui_false_turns_off_the_ui_that_dev_mode_turns_on() -> None:
    # Before: "Option '-ui' does not take a value."
    assert (True, False) == (load("-dev").ui.enabled, load("-dev", "-ui=false").ui.enabled)


@pytest.mark.parametrize("word", ["yes", "on", "", "tRUE", "2"])
def test_a_boolean_value_go_cannot_parse_is_an_error_naming_the_flag(word: str) -> None:
    assert f'invalid boolean value "{word}" for -ui: parse error' == usage_error(f"-ui={word}")


def test_a_boolean_flag_never_takes_the_next_word_as_consul() -> None:
    assert "Unexpected extra arguments: [false -node n]" == usage_error("-ui", "false", "-node", "n")


def test_enable_script_checks_flags_reach_the_config() -> None:
    # Before: "No such option '-e'".
    assert {"enable_script_checks": True, "enable_local_script_checks": True} == parse(
        "-enable-script-checks", "--enable-local-script-checks"
    )
    cfg = load("-enable-script-checks")
    assert (True, False) == (cfg.enable_script_checks, cfg.enable_local_script_checks)
    assert False is load("-enable-script-checks=false").enable_script_checks


def test_a_flag_overrides_the_config_files_boolean(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"enable_script_checks": true, "log_json": true}')
    cfg = load("-config-file", str(path), "-enable-script-checks=false")
    assert (False, True) == (cfg.enable_script_checks, cfg.log_json)


def test_server_and_cluster_flags_are_accepted_and_listed_as_ignored() -> None:
    # Before: "No such option '-s'" (and '-b', '-r').
    cfg = load("-server", "-bootstrap-expect=1", "-retry-join", "10.0.0.1", "-retry-join=10.0.0.2", "-dev")
    assert ("-server", "-bootstrap-expect", "-retry-join") == cfg.ignored_flags
    assert () == load("-dev").ignored_flags


@pytest.mark.parametrize(
    "args",
    [
        ("-node", "n1"),
        ("-node=n1",),
        ("--node", "n1"),
        ("--node=n1",),
        ("-node", "x", "-node", "n1"),
    ],
)
def test_a_value_flag_takes_every_go_form(args: tuple[str, ...]) -> None:
    assert {"node": "n1"} == parse(*args)


def test_a_value_may_be_empty_or_start_with_a_dash_as_in_go() -> None:
    assert {"node": "", "http_port": -1, "dns_port": -1, "datacenter": "-ui"} == parse(
        "-node=", "-http-port", "-1", "-dns-port=-1", "-datacenter", "-ui"
    )


def test_repeatable_flags_keep_every_value_in_order() -> None:
    assert {
        "recursor": ("1.1.1.1", "8.8.8.8", "9.9.9.9"),
        "config_file": ("a.json", "b.hcl"),
        "retry_join": ("x", "y"),
    } == parse(
        "-recursor",
        "1.1.1.1",
        "--recursor=8.8.8.8",
        "-recursor=9.9.9.9",
        "-config-file=a.json",
        "-config-file",
        "b.hcl",
        "-retry-join",
        "x",
        "-retry-join=y",
    )


def test_node_meta_flags_merge_over_the_files(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"node_meta": {"rack": "r1", "zone": "a"}}')
    cfg = load("-config-file", str(path), "-node-meta", "zone:b", "-node-meta=flag", "-node-meta=url:h:1")
    assert {"rack": "r1", "zone": "b", "flag": "", "url": "h:1"} == cfg.node_meta


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-grpc-port", "8502"), "flag provided but not defined: -grpc-port"),
        (("--no-such-flag=1",), "flag provided but not defined: -no-such-flag"),
        (("-e",), "flag provided but not defined: -e"),
        (("---node", "n"), "flag provided but not defined: --node"),
        (("-node",), "flag needs an argument: -node"),
        (("-http-port", "x"), 'invalid value "x" for flag -http-port: parse error'),
        (("-http-port=1_0",), 'invalid value "1_0" for flag -http-port: parse error'),
        (("-http-port", " 80"), 'invalid value " 80" for flag -http-port: parse error'),
        (("-http-port", "x", "-http-port", "0"), 'invalid value "x" for flag -http-port: parse error'),
        (("-drain-grace-seconds=soon",), 'invalid value "soon" for flag -drain-grace-seconds: parse error'),
        (("stray",), "Unexpected extra arguments: [stray]"),
        (("-dev", "--", "x"), "Unexpected extra arguments: [x]"),
    ],
)
def test_bad_command_lines_are_named_in_gos_words(args: tuple[str, ...], expected: str) -> None:
    assert expected == usage_error(*args)


def test_numbers_are_read_as_strconv_atoi() -> None:
    assert {"http_port": 8500, "https_port": -1, "drain_grace_seconds": 0.5} == parse(
        "-http-port=+8500", "-https-port", "-1", "-drain-grace-seconds", "0.5"
    )


def test_existing_test_command_line_keeps_working(tmp_path: Path) -> None:
    # tests/agentproc.py's command line
    cfg = load(
        "-http-port",
        "0",
        "-dns-port",
        "0",
        "-node",
        "X",
        "-drain-grace-seconds",
        "0",
        "-data-dir",
        str(tmp_path),
    )
    assert (0, 0, "X", 0.0, tmp_path) == (
        cfg.http_port,
        cfg.dns.port,
        cfg.node_name,
        cfg.status_drain_grace_seconds,
        cfg.data_dir,
    )


def test_help_is_every_spelling() -> None:
    for name in ("-h", "-help", "--help"):
        with pytest.raises(click.exceptions.Exit):
            agent.make_context("agent", [name])


def test_every_flag_of_the_table_is_an_option_and_documented() -> None:
    options = {opt for param in agent.params for opt in param.opts}
    doc = (ROOT / "docs" / "configuration.md").read_text()
    flagged = [setting for setting in settings.FLAGS if setting.flag]
    assert [] == [s.flag for s in flagged if {s.flag, f"-{s.flag}"} - options]
    assert [] == [s.flag for s in flagged if f"| `{s.flag}` |" not in doc]
    assert settings.flags_markdown() in doc  # scripts/gen-config-doc regenerates it
    # and every option comes from the table (no hand-written one besides help)
    assert {s.dest for s in settings.FLAGS} == {param.name for param in agent.params}


def test_defaults_come_from_the_settings_table() -> None:
    cfg = load()
    by_key = settings.BY_KEY
    assert [
        by_key["datacenter"].default,
        by_key["log_level"].default,
        by_key["log_json"].default,
        by_key["bind_addr"].default,
        by_key["client_addr"].default,
        by_key["ports.http"].default,
        by_key["ports.https"].default,
        by_key["enable_script_checks"].default,
        by_key["check_output_max_size"].default,
        by_key["check_reap_interval"].default,
        by_key["status.drain_grace_seconds"].default,
    ] == [
        cfg.datacenter,
        cfg.log_level,
        cfg.log_json,
        cfg.bind_addr,
        cfg.client_addr,
        cfg.http_port,
        cfg.https_port,
        cfg.enable_script_checks,
        cfg.check_output_max_size,
        cfg.check_reap_interval,
        cfg.status_drain_grace_seconds,
    ]
