"""Agent configuration: Consul's config files (JSON or HCL) and flags, resolved once into a frozen
AgentConfig (defaults < files < flags). The SETTINGS table gives the defaults and drives validation, the
flags (cli/flags.py) and the docs."""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from muster.acl.config import ACLConfig, acl_config
from muster.catalog.config import CatalogConfig, catalog_config
from muster.config_values import listen_port
from muster.decode import check_nesting
from muster.dns.config import DNSConfig, dns_config
from muster.errors import ConfigError
from muster.settings import BY_KEY, FLAGS, IGNORED_CONSUL_KEYS, SECTIONS
from muster.tls import TLSConfig, require_server_files, tls_config
from muster.ui import UIConfig, ui_config

LOG_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "err": logging.ERROR,
    "error": logging.ERROR,
}


_LIST_ALIASES = {"service": "services", "check": "checks"}
# HCL blocks arrive as lists of objects; these keys are single objects at any depth.
_OBJECT_KEYS = frozenset(
    {
        "service",
        "check",
        "ports",
        "addresses",
        "meta",
        "node_meta",
        "weights",
        "tagged_addresses",
        "connect",
        "proxy",
        "sidecar_service",
        "header",
        "locality",
        "mesh_gateway",
        "expose",
        "transparent_proxy",
        "access_logs",
        "config",
        "telemetry",
        "performance",
        "acl",
        "tokens",
        "status",
        "tls",
        "defaults",
        "https",
        "dns_config",
        "soa",
        "service_ttl",
        "ui_config",
        "catalog",
        "etcd",
    }
)
_OPAQUE_MAPS = frozenset({"meta", "node_meta", "header", "config", "tagged_addresses"})


@dataclass(frozen=True)
class AgentConfig:
    node_name: str
    datacenter: str = "dc1"
    primary_datacenter: str = ""
    data_dir: Path | None = None  # None in -dev mode
    dev: bool = False
    log_level: str = "info"
    log_json: bool = False
    client_addr: str = "127.0.0.1"
    bind_addr: str = "127.0.0.1"
    http_port: int = 8500
    enable_script_checks: bool = False
    enable_local_script_checks: bool = False
    check_output_max_size: int = 4096
    check_reap_interval: float = 30.0
    check_deregister_interval_min: float = 60.0
    node_meta: dict[str, str] = field(default_factory=dict)
    services: tuple[tuple[str, dict[str, Any]], ...] = ()  # (file, raw definition)
    checks: tuple[tuple[str, dict[str, Any]], ...] = ()
    config_files: tuple[Path, ...] = ()
    config_dirs: tuple[Path, ...] = ()
    ignored_keys: tuple[str, ...] = ()
    ignored_flags: tuple[str, ...] = ()  # Consul flags given that have no effect (-server, -retry-join)
    status_exclude_from_rollup: tuple[str, ...] = ()
    status_include_in_rollup: tuple[str, ...] = ()
    status_cpu_metrics_interval_seconds: float = 5.0
    status_drain_grace_seconds: float = 5.0
    acl: ACLConfig = field(default_factory=ACLConfig)
    https_port: int = -1  # -1: no HTTPS listener
    https_addr: str = "127.0.0.1"
    tls: TLSConfig = field(default_factory=TLSConfig)
    dns: DNSConfig = field(default_factory=DNSConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)


def default_data_dir(environ: dict[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "muster"


def _unwrap_hcl(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _unwrap_hcl(v, k) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        items = [_unwrap_hcl(item) for item in value]
        if key in _OBJECT_KEYS and len(items) == 1 and isinstance(items[0], dict):
            return items[0]
        return items
    return value


def parse_file(path: Path) -> dict[str, Any]:
    """Read one config file, JSON or HCL by its extension (HCL also for anything not .json)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        if path.suffix == ".json":
            check_nesting(text.encode())  # as request bodies: no recursion limit reached in json.loads
            data = json.loads(text)
        else:
            import hcl2  # its grammar costs ~4 MiB of RSS: loaded only when an HCL file is read

            options = hcl2.SerializationOptions(
                with_comments=False, explicit_blocks=False, preserve_heredocs=False, strip_string_quotes=True
            )
            data = _unwrap_hcl(hcl2.loads(text, serialization_options=options))
    except Exception as exc:  # noqa: BLE001 - any parser failure is the file's fault; say which file
        raise ConfigError(f"{path}: cannot parse config file: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold an object")
    return data


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def merge_file(merged: dict[str, Any], data: dict[str, Any], path: Path) -> None:
    """Merge one file over earlier ones: scalars replace, sections merge, service/check lists append."""
    for key, value in data.items():
        list_key = _LIST_ALIASES.get(key, key)
        if list_key in ("services", "checks"):
            merged.setdefault(list_key, []).extend((str(path), item) for item in _as_list(value))
        elif key in IGNORED_CONSUL_KEYS:
            merged.setdefault("_ignored", []).append(key)
        elif key in SECTIONS:
            _merge_section(merged, key, value, path)
        else:
            _check(key, value, path)
            merged[key] = value


def _merge_section(parent: dict[str, Any], key: str, value: Any, path: Path) -> None:
    """Merge one section (`ports`, `tls`, `tls.defaults`, ...) key by key; nested sections recurse."""
    if not isinstance(value, dict):
        raise ConfigError(f'{path}: "{key}" must be an object')
    target = parent.setdefault(key.rsplit(".", 1)[-1], {})
    for sub, sub_value in value.items():
        dotted = f"{key}.{sub}"
        if dotted in SECTIONS and dotted not in BY_KEY:
            _merge_section(target, dotted, sub_value, path)
        else:
            _check(dotted, sub_value, path)
            target[sub] = sub_value


def _check(key: str, value: Any, path: Path) -> None:
    setting = BY_KEY.get(key)
    if setting is None:
        raise ConfigError(f'{path}: unknown configuration key "{key}"')
    expected = setting.kind
    if expected is int and isinstance(value, bool):
        raise ConfigError(f'{path}: "{key}" must be a number')
    if not isinstance(value, expected):
        name = expected.__name__ if isinstance(expected, type) else "value"
        raise ConfigError(f'{path}: "{key}" must be a {"boolean" if expected is bool else name}')


def config_paths(files: tuple[str, ...], dirs: tuple[str, ...]) -> list[Path]:
    paths = [Path(name) for name in files]
    for directory in dirs:
        folder = Path(directory)
        if not folder.is_dir():
            raise ConfigError(f"{folder}: config directory does not exist")
        paths.extend(sorted(p for p in folder.iterdir() if p.suffix in (".json", ".hcl") and p.is_file()))
    return paths


def _port(flags: dict[str, Any], ports: dict[str, Any], name: str) -> int:
    """`-<name>-port` over `ports.<name>` over the default, in range (difference 11)."""
    flag = flags.get(f"{name}_port")
    if flag is not None:
        return listen_port(f"ports.{name}", f"-{name}-port", flag)
    return listen_port(f"ports.{name}", "", ports.get(name, BY_KEY[f"ports.{name}"].default))


def _node_meta(flags: dict[str, Any], merged: dict[str, Any]) -> dict[str, str]:
    """`node_meta` from the files, with each `-node-meta key:value` over it (Consul's stringMapValue:
    a value-less `key` is "")."""
    meta = {str(k): str(v) for k, v in merged.get("node_meta", {}).items()}
    for pair in flags.get("node_meta") or ():
        key, _, value = pair.partition(":")
        meta[key] = value
    return meta


def ignored_flags(flags: dict[str, Any]) -> tuple[str, ...]:
    """The flags given that Muster accepts for Consul compatibility and ignores."""
    return tuple(s.flag for s in FLAGS if s.ignored and flags.get(s.dest) not in (None, (), []))


def load(flags: dict[str, Any], environ: dict[str, str] | None = None) -> AgentConfig:
    """Resolve defaults < config files (in order) < flags into an AgentConfig."""
    env = dict(os.environ if environ is None else environ)
    files = tuple(flags.get("config_file") or ())
    dirs = tuple(flags.get("config_dir") or ())
    merged: dict[str, Any] = {}
    for path in config_paths(files, dirs):
        merge_file(merged, parse_file(path), path)
    ports = merged.get("ports", {})
    addresses = merged.get("addresses", {})
    status = merged.get("status", {})
    excluded, included = status.get("exclude_from_rollup", []), status.get("include_in_rollup", [])
    for key, names in (("exclude_from_rollup", excluded), ("include_in_rollup", included)):
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ConfigError(f'"status.{key}" must be a list of strings')
    dev = bool(flags.get("dev"))

    def given(flag: str, key: str) -> Any:
        """The flag, else the files' key, else None."""
        value = flags.get(flag)
        return value if value is not None else merged.get(key)

    def pick(flag: str, key: str) -> Any:
        """The flag ("": the key has none), else the files' key, else the SETTINGS table's default."""
        value = given(flag, key)
        return value if value is not None else BY_KEY[key].default

    data_dir_value = given("data_dir", "data_dir")
    data_dir = None if dev and data_dir_value is None else Path(data_dir_value or default_data_dir(env))
    http_port = _port(flags, ports, "http")
    https_port = _port(flags, ports, "https")
    client_addr = given("client", "client_addr")
    tls = tls_config(merged.get("tls", {}))
    if https_port >= 0:
        require_server_files(tls)
    drain_grace = flags.get("drain_grace_seconds")
    if drain_grace is None:
        drain_grace = status.get("drain_grace_seconds", BY_KEY["status.drain_grace_seconds"].default)
    return AgentConfig(
        node_name=given("node", "node_name") or socket.gethostname(),
        datacenter=pick("datacenter", "datacenter"),
        primary_datacenter=pick("", "primary_datacenter"),
        data_dir=data_dir,
        dev=dev,
        log_level=str(pick("log_level", "log_level")).lower(),
        log_json=bool(pick("log_json", "log_json")),
        client_addr=client_addr or addresses.get("http") or BY_KEY["client_addr"].default,
        bind_addr=pick("bind", "bind_addr"),
        http_port=http_port,
        enable_script_checks=bool(pick("enable_script_checks", "enable_script_checks")),
        enable_local_script_checks=bool(pick("enable_local_script_checks", "enable_local_script_checks")),
        check_output_max_size=pick("check_output_max_size", "check_output_max_size"),
        check_reap_interval=float(pick("", "check_reap_interval")),
        check_deregister_interval_min=float(pick("", "check_deregister_interval_min")),
        node_meta=_node_meta(flags, merged),
        services=tuple(merged.get("services", ())),
        checks=tuple(merged.get("checks", ())),
        config_files=tuple(Path(name) for name in files),
        config_dirs=tuple(Path(name) for name in dirs),
        ignored_keys=tuple(merged.get("_ignored", ())),
        ignored_flags=ignored_flags(flags),
        status_exclude_from_rollup=tuple(excluded),
        status_include_in_rollup=tuple(included),
        status_cpu_metrics_interval_seconds=float(
            status.get("cpu_metrics_interval_seconds", BY_KEY["status.cpu_metrics_interval_seconds"].default)
        ),
        status_drain_grace_seconds=max(0.0, float(drain_grace)),
        acl=acl_config(merged.get("acl", {}), merged),
        https_port=https_port,
        https_addr=addresses.get("https") or client_addr or "127.0.0.1",
        tls=tls,
        dns=dns_config(merged, flags, client_addr or "127.0.0.1"),
        ui=ui_config(merged, flags, dev),
        catalog=catalog_config(merged, flags),
    )


def config_keys_to_api(value: Any, *, check: bool = False) -> Any:
    """Config files spell fields in snake_case; the API decoder matches them once underscores go.

    Map keys (meta, header, tagged address names, proxy config) are data and stay as written.
    In a service's check, `id` means CheckID, as Consul's config builder reads it.
    """
    if isinstance(value, list):
        return [config_keys_to_api(item, check=check) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        lowered = key.lower()
        if lowered in _OPAQUE_MAPS and isinstance(item, dict):
            inner = (
                {k: config_keys_to_api(v) for k, v in item.items()} if lowered == "tagged_addresses" else item
            )
            out[key.replace("_", "")] = inner
            continue
        name = key.replace("_", "")
        if check and lowered in ("id", "check_id"):
            name = "CheckID"
        nested_check = lowered in ("check", "checks")
        out[name] = config_keys_to_api(item, check=nested_check)
    return out
