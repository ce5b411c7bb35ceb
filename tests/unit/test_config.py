from __future__ import annotations

from pathlib import Path

import pytest

from muster import config, settings
from muster.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def load(tmp_path: Path, name: str, text: str, **flags: object) -> config.AgentConfig:
    path = tmp_path / name
    path.write_text(text)
    return config.load({"config_file": [str(path)], **flags}, environ={"HOME": str(tmp_path)})


def test_hcl_file_with_blocks_loads(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        "a.hcl",
        'node_name = "n1"\nports { http = 9500 }\nservice {\n name = "web"\n port = 80\n'
        ' check { http = "http://x" \n interval = "10s" }\n meta { some_key = "v" }\n}\n',
    )
    assert ("n1", 9500) == (cfg.node_name, cfg.http_port)
    assert [
        {
            "name": "web",
            "port": 80,
            "check": {"http": "http://x", "interval": "10s"},
            "meta": {"some_key": "v"},
        }
    ] == [raw for _, raw in cfg.services]


def test_json_file_and_flags_override_files(tmp_path: Path) -> None:
    cfg = load(
        tmp_path, "a.json", '{"datacenter":"east","ports":{"http":9000}}', http_port=0, datacenter=None
    )
    assert ("east", 0) == (cfg.datacenter, cfg.http_port)


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "bad.json", '{"node_name":"n","bogus_key":1}')
    assert f'{tmp_path / "bad.json"}: unknown configuration key "bogus_key"' == str(info.value)


def test_unknown_nested_key_is_named_with_its_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'unknown configuration key "ports\.bogus"'):
        load(tmp_path, "bad.hcl", "ports { bogus = 1 }\n")


def test_wrong_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='"enable_script_checks" must be a boolean'):
        load(tmp_path, "bad.json", '{"enable_script_checks":"yes"}')


def test_config_keys_become_api_keys_but_map_keys_stay() -> None:
    raw = {
        "name": "w",
        "enable_tag_override": True,
        "meta": {"a_b": "c"},
        "check": {"id": "c1", "ttl": "1s"},
        "tagged_addresses": {"lan_ipv4": {"address": "1.2.3.4", "port": 1}},
    }
    assert {
        "name": "w",
        "enabletagoverride": True,
        "meta": {"a_b": "c"},
        "check": {"CheckID": "c1", "ttl": "1s"},
        "taggedaddresses": {"lan_ipv4": {"address": "1.2.3.4", "port": 1}},
    } == config.config_keys_to_api(raw)


def test_dev_mode_has_no_data_dir_and_default_dir_follows_xdg(tmp_path: Path) -> None:
    assert config.load({"dev": True}, environ={}).data_dir is None
    assert Path("/x/muster") == config.load({}, environ={"XDG_DATA_HOME": "/x"}).data_dir


def test_configuration_doc_lists_every_setting() -> None:
    # scripts/gen-config-doc regenerates the table after a change to SETTINGS.
    assert settings.settings_markdown() in (ROOT / "docs" / "configuration.md").read_text()


def test_a_json_config_file_nested_too_deep_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match="cannot parse config file: invalid character '\\[' exceeded max depth"
    ):
        load(tmp_path, "deep.json", '{"meta":' + "[" * 5000 + "]" * 5000 + "}")


def test_status_rollup_lists_reach_the_status_registry(tmp_path: Path) -> None:
    from muster.agent import Agent

    cfg = load(tmp_path, "s.hcl", 'status {\n include_in_rollup = ["catalog-sync"]\n}\n', dev=True)
    agent = Agent(cfg)
    try:
        assert (("catalog-sync",), frozenset({"catalog-sync"})) == (
            cfg.status_include_in_rollup,
            agent.status.include_in_rollup,
        )
    finally:
        agent.close()


def test_status_rollup_list_of_the_wrong_type_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'"status\.include_in_rollup" must be a list'):
        load(tmp_path, "s.json", '{"status": {"include_in_rollup": "catalog-sync"}}')
