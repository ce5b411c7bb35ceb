"""The `catalog { backend, ... }` and `etcd { ... }` sections and `reconnect_timeout`: which catalog
this agent answers from, and how it reaches etcd."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from muster.config_values import seconds, strings
from muster.errors import ConfigError

BACKENDS = ("local", "etcd")


@dataclass(frozen=True)
class EtcdConfig:
    endpoints: tuple[str, ...] = ("http://127.0.0.1:2379",)
    prefix: str = "/muster/"
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    username: str = ""
    password: str = ""
    lease_ttl: float = 10.0


@dataclass(frozen=True)
class CatalogConfig:
    backend: str = "local"
    sync_interval: float = 60.0
    view_idle_timeout: float = 300.0
    reconnect_timeout: float = 72 * 3600.0
    etcd: EtcdConfig = EtcdConfig()


def _endpoint(endpoint: str) -> tuple[str, str, int]:
    """(scheme, host, port) of one etcd client URL; 2379 when no port is given."""
    usage = f"etcd endpoint {endpoint!r}: use http://host:port or https://host:port"
    try:
        parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", a port that is no number or out of 0-65535
        raise ConfigError(f"{usage} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(usage)
    if port == 0:
        raise ConfigError(f"{usage} (port 0 cannot be dialled)")
    return parts.scheme, parts.hostname, 2379 if port is None else port


def channel_target(endpoints: Sequence[str]) -> tuple[str, bool]:
    """One gRPC target for all endpoints ("ipv4:a:p,b:p" fails over between them), and whether TLS."""
    hosts, schemes = [], set()
    for endpoint in endpoints:
        scheme, host, port = _endpoint(endpoint)
        schemes.add(scheme)
        hosts.append((host, port))
    if len(schemes) > 1:
        raise ConfigError("etcd endpoints mix http and https")
    try:
        families = {ipaddress.ip_address(host).version for host, _ in hosts}
    except ValueError:  # a host name: gRPC's DNS resolver, on the first endpoint
        host, port = hosts[0]
        return f"dns:///{host}:{port}", "https" in schemes
    if families == {4}:
        return "ipv4:" + ",".join(f"{h}:{p}" for h, p in hosts), "https" in schemes
    return "ipv6:" + ",".join(f"[{h}]:{p}" for h, p in hosts), "https" in schemes


def catalog_config(merged: Mapping[str, Any], flags: Mapping[str, Any]) -> CatalogConfig:
    block = merged.get("catalog", {})
    etcd = merged.get("etcd", {})
    backend = flags.get("catalog") or block.get("backend", "local")
    if backend not in BACKENDS:
        raise ConfigError(f'"catalog.backend" must be local or etcd, not {backend!r}')
    endpoints = flags.get("etcd_endpoint") or etcd.get("endpoints", ["http://127.0.0.1:2379"])
    prefix = flags.get("etcd_prefix") or etcd.get("prefix", "/muster/")
    channel_target(
        strings("etcd.endpoints", list(endpoints))
    )  # a bad endpoint stops the agent before it starts
    lease_ttl = seconds("etcd.lease_ttl", etcd.get("lease_ttl", "10s"))
    if lease_ttl < 2:
        raise ConfigError('"etcd.lease_ttl" must be at least 2s (etcd grants whole seconds)')
    return CatalogConfig(
        backend=backend,
        sync_interval=max(1.0, seconds("catalog.sync_interval", block.get("sync_interval", "60s"))),
        view_idle_timeout=seconds("catalog.view_idle_timeout", block.get("view_idle_timeout", "5m")),
        reconnect_timeout=seconds("reconnect_timeout", merged.get("reconnect_timeout", "72h")),
        etcd=EtcdConfig(
            endpoints=strings("etcd.endpoints", list(endpoints)),
            prefix=prefix if prefix.endswith("/") else prefix + "/",
            ca_file=etcd.get("ca_file", ""),
            cert_file=etcd.get("cert_file", ""),
            key_file=etcd.get("key_file", ""),
            username=etcd.get("username", ""),
            password=etcd.get("password", ""),
            lease_ttl=lease_ttl,
        ),
    )
