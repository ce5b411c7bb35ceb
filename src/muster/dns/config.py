"""The DNS settings: `ports.dns`, `addresses.dns`, `domain`, `alt_domain`, `recursors` and the
`dns_config { ... }` block, resolved once as Consul's agent/config does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from muster.config_values import listen_port, seconds, strings
from muster.errors import ConfigError


@dataclass(frozen=True)
class DNSConfig:
    port: int = 8600  # -1: off, 0: a free port
    address: str = "127.0.0.1"
    domain: str = "consul."
    alt_domain: str = ""
    recursors: tuple[str, ...] = ()
    node_ttl: float = 0.0
    service_ttl: dict[str, float] = field(default_factory=dict)  # "*" is the fallback
    only_passing: bool = False
    enable_truncate: bool = False
    udp_answer_limit: int = 3
    a_record_limit: int = 0
    recursor_timeout: float = 2.0
    disable_compression: bool = False
    soa_refresh: int = 3600
    soa_retry: int = 600
    soa_expire: int = 86400
    soa_min_ttl: int = 0


def _domain(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f'"{key}" must be a string')
    value = value.strip().lower()
    return "" if not value else value if value.endswith(".") else value + "."


def _recursors(recursors: tuple[str, ...]) -> tuple[str, ...]:
    """Each `host[:port]`, its port in range: a wrapped or refused port would fail every query."""
    if recursors:
        from muster.dns.recursor import recursor_address  # dnspython: only when recursors are set

        for recursor in recursors:
            port = recursor_address(recursor)[1]
            if not 1 <= port <= 65535:
                raise ConfigError(f'"recursors": {recursor!r}: the port must be from 1 to 65535, not {port}')
    return recursors


def dns_config(merged: Mapping[str, Any], flags: Mapping[str, Any], client_addr: str) -> DNSConfig:
    block = merged.get("dns_config", {})
    soa = block.get("soa", {})
    flag_port = flags.get("dns_port")
    if flag_port is not None:
        port = listen_port("ports.dns", "-dns-port", flag_port)
    else:
        port = listen_port("ports.dns", "", merged.get("ports", {}).get("dns", 8600))
    recursors = flags.get("recursor") or merged.get("recursors", [])
    service_ttl = {
        str(name): seconds(f"dns_config.service_ttl.{name}", ttl)
        for name, ttl in block.get("service_ttl", {}).items()
    }
    return DNSConfig(
        port=port,
        address=merged.get("addresses", {}).get("dns") or client_addr,
        domain=_domain("domain", flags.get("domain") or merged.get("domain", "consul.")),
        alt_domain=_domain("alt_domain", flags.get("alt_domain") or merged.get("alt_domain", "")),
        recursors=_recursors(strings("recursors", list(recursors))),
        node_ttl=seconds("dns_config.node_ttl", block.get("node_ttl", "0s")),
        service_ttl=service_ttl,
        only_passing=block.get("only_passing", False),
        enable_truncate=block.get("enable_truncate", False),
        udp_answer_limit=block.get("udp_answer_limit", 3),
        a_record_limit=block.get("a_record_limit", 0),
        recursor_timeout=seconds("dns_config.recursor_timeout", block.get("recursor_timeout", "2s")),
        disable_compression=block.get("disable_compression", False),
        soa_refresh=soa.get("refresh", 3600),
        soa_retry=soa.get("retry", 600),
        soa_expire=soa.get("expire", 86400),
        soa_min_ttl=soa.get("min_ttl", 0),
    )
