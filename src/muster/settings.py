"""The SETTINGS table: every config-file key Muster reads and every `muster agent` flag (Consul's names),
with its type, default and help. It drives validation of config files, the agent's click options
(cli/flags.py), the docs (docs/configuration.md) and unknown-key errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    key: str  # dotted config-file key; "" for a flag that has none (-dev, -config-file)
    kind: type | tuple[type, ...]  # a list is a repeatable flag; a dict a repeatable `key:value` flag
    default: Any
    help: str
    flag: str = ""  # Consul's agent flag, "" for none; its value reaches config.load() under `dest`
    ignored: bool = False  # accepted for Consul compatibility with no effect: the flag logs one info line

    @property
    def dest(self) -> str:
        """The flag's name in the dict click hands to config.load(): `-http-port` -> `http_port`."""
        return self.flag.lstrip("-").replace("-", "_")


# Consul's agent flags Muster takes that set no config key of its own.
COMMAND_LINE: tuple[Setting, ...] = (
    Setting("", bool, False, "Keep state in memory only (no data dir), UI on, as Consul's dev mode.", "-dev"),
    Setting("", list, [], "A JSON or HCL config file; repeatable.", "-config-file"),
    Setting(
        "", list, [], "A directory of *.json and *.hcl files, read in name order; repeatable.", "-config-dir"
    ),
)


SETTINGS: tuple[Setting, ...] = (
    Setting("node_name", str, "<hostname>", "This agent's node name.", "-node"),
    Setting("datacenter", str, "dc1", "The datacenter this agent belongs to.", "-datacenter"),
    Setting("primary_datacenter", str, "", "Accepted for Consul compatibility; reported in /v1/agent/self."),
    Setting("data_dir", str, "$XDG_DATA_HOME/muster", "Where the embedded SQLite store lives.", "-data-dir"),
    Setting("log_level", str, "info", "trace, debug, info, warn or error.", "-log-level"),
    Setting("log_json", bool, False, "Log one JSON object per line.", "-log-json"),
    Setting("client_addr", str, "127.0.0.1", "Address the HTTP API listens on.", "-client"),
    Setting("bind_addr", str, "127.0.0.1", "Address advertised for this node (members, leader).", "-bind"),
    Setting(
        "ports.http", int, 8500, "HTTP API port, 1-65535; 0 picks a free port, -1 turns it off.", "-http-port"
    ),
    Setting("addresses.http", str, "", "Overrides client_addr for the HTTP API."),
    Setting(
        "ports.https",
        int,
        -1,
        "HTTPS API port, 1-65535; -1 turns it off, 0 picks a free port.",
        "-https-port",
    ),
    Setting("addresses.https", str, "", "Overrides client_addr for the HTTPS API."),
    *(
        Setting(
            f"tls.{block}.{key}",
            kind,
            default,
            meaning if block == "defaults" else f"Overrides tls.defaults.{key} for the HTTPS API.",
        )
        for block in ("defaults", "https")
        for key, kind, default, meaning in (
            ("ca_file", str, "", "PEM file of the CA(s) that sign client certificates."),
            ("ca_path", str, "", "Directory of PEM CA files (each file is loaded)."),
            ("cert_file", str, "", "PEM certificate (chain) the HTTPS API presents."),
            ("key_file", str, "", "PEM private key of cert_file."),
            ("verify_incoming", bool, False, "true: client certificates are required."),
            ("verify_outgoing", bool, False, "Accepted for Consul compatibility; no effect."),
            (
                "client_certificates",
                str,
                "",
                "required, optional or none (Puppet's need, want, none); unset: required if "
                "verify_incoming, else none.",
            ),
            ("tls_min_version", str, "TLSv1_2", "TLSv1_2 or TLSv1_3; older versions are always refused."),
        )
    ),
    Setting(
        "enable_script_checks",
        bool,
        False,
        "Allow script checks from any source (a security boundary).",
        "-enable-script-checks",
    ),
    Setting(
        "enable_local_script_checks",
        bool,
        False,
        "Allow script checks from config files only.",
        "-enable-local-script-checks",
    ),
    Setting(
        "check_output_max_size", int, 4096, "Largest check output kept, in bytes.", "-check_output_max_size"
    ),
    Setting(
        "check_reap_interval", (int, float), 30, "Seconds between reaper passes (Consul's internal default)."
    ),
    Setting(
        "check_deregister_interval_min",
        (int, float),
        60,
        "Smallest DeregisterCriticalServiceAfter honoured, in seconds.",
    ),
    Setting(
        "node_meta",
        dict,
        {},
        "Node metadata, shown in /v1/agent/self Meta; the flag takes `key:value` and is repeatable.",
        "-node-meta",
    ),
    Setting(
        "server",
        bool,
        True,
        "Accepted for Consul compatibility: Muster has no servers, every agent answers as its own.",
        "-server",
        ignored=True,
    ),
    # Consul's cluster flags: accepted so that `consul agent` command lines start (their config keys are
    # in IGNORED_CONSUL_KEYS); there is no gossip or Raft cluster to configure.
    *(
        Setting(key, kind, default, "Accepted for Consul compatibility; no effect.", flag, ignored=True)
        for key, kind, default, flag in (
            ("bootstrap_expect", int, 0, "-bootstrap-expect"),
            ("bootstrap", bool, False, "-bootstrap"),
            ("retry_join", list, [], "-retry-join"),
            ("start_join", list, [], "-join"),
            ("advertise_addr", str, "", "-advertise"),
            ("encrypt", str, "", "-encrypt"),
            ("rejoin_after_leave", bool, False, "-rejoin"),
            ("raft_protocol", int, 3, "-raft-protocol"),
        )
    ),
    Setting("service", dict, None, "One service definition (Consul's format); repeatable."),
    Setting("services", list, [], "A list of service definitions."),
    Setting("check", dict, None, "One check definition (Consul's format); repeatable."),
    Setting("checks", list, [], "A list of check definitions."),
    Setting("status.exclude_from_rollup", list, [], "Status services shown but left out of the rollup."),
    Setting(
        "status.include_in_rollup",
        list,
        [],
        "Status services counted in the rollup though they leave it by default (catalog-sync).",
    ),
    Setting("status.cpu_metrics_interval_seconds", (int, float), 5, "Status CPU sampling period; <= 0: off."),
    Setting(
        "status.drain_grace_seconds",
        (int, float),
        5,
        "On SIGTERM/SIGINT: seconds to keep serving with /status/v1/simple at 503 before closing.",
        "-drain-grace-seconds",
    ),
    Setting(
        "ports.dns",
        int,
        8600,
        "DNS port (UDP and TCP), 1-65535; 0 picks a free port, -1 turns DNS off.",
        "-dns-port",
    ),
    Setting("addresses.dns", str, "", "Overrides client_addr for the DNS server."),
    Setting("domain", str, "consul.", "The DNS domain answered (`<name>.service.<domain>`).", "-domain"),
    Setting("alt_domain", str, "", "A second DNS domain answered like `domain`.", "-alt-domain"),
    Setting("recursors", list, [], "Upstream DNS servers for names outside the domains.", "-recursor"),
    Setting("dns_config.node_ttl", str, "0s", "TTL of node lookups (a Go duration)."),
    Setting("dns_config.service_ttl", dict, {}, 'TTL per service name ("*" for all; Go durations).'),
    Setting("dns_config.only_passing", bool, False, "true: warning instances are left out too."),
    Setting("dns_config.allow_stale", bool, True, "Accepted for Consul compatibility: DNS reads the view."),
    Setting("dns_config.max_stale", str, "87600h", "Accepted for Consul compatibility; no effect."),
    Setting("dns_config.enable_truncate", bool, False, "Set TC when a UDP answer was cut to fit."),
    Setting("dns_config.udp_answer_limit", int, 3, "Most A/AAAA records in a UDP answer without EDNS."),
    Setting("dns_config.a_record_limit", int, 0, "Most A/AAAA records in any answer; 0: no limit."),
    Setting("dns_config.recursor_timeout", str, "2s", "How long to wait for a recursor."),
    Setting("dns_config.disable_compression", bool, False, "Turn DNS name compression off."),
    Setting("dns_config.soa.refresh", int, 3600, "SOA refresh, in seconds."),
    Setting("dns_config.soa.retry", int, 600, "SOA retry, in seconds."),
    Setting("dns_config.soa.expire", int, 86400, "SOA expire, in seconds."),
    Setting("dns_config.soa.min_ttl", int, 0, "SOA minimum TTL (the negative-answer TTL), in seconds."),
    Setting("ui_config.enabled", bool, False, "Serve the web UI at ui_config.content_path.", "-ui"),
    Setting("ui_config.content_path", str, "/ui/", "Where the web UI is served.", "-ui-content-path"),
    Setting("catalog.backend", str, "local", "local (this node only) or etcd (the fleet).", "-catalog"),
    Setting("catalog.sync_interval", str, "60s", "Full anti-entropy sync period (jittered)."),
    Setting("catalog.view_idle_timeout", str, "5m", "Drop a service's etcd watch after this long unasked."),
    Setting("reconnect_timeout", str, "72h", "Reap a node whose agent has been dead this long."),
    Setting("etcd.endpoints", list, ["http://127.0.0.1:2379"], "etcd client URLs.", "-etcd-endpoint"),
    Setting("etcd.prefix", str, "/muster/", "Key prefix of the catalog in etcd.", "-etcd-prefix"),
    Setting("etcd.ca_file", str, "", "PEM CA that signs etcd's server certificates (TLS to etcd)."),
    Setting("etcd.cert_file", str, "", "PEM client certificate for etcd."),
    Setting("etcd.key_file", str, "", "PEM private key of etcd.cert_file."),
    Setting("etcd.username", str, "", "etcd user (etcd's auth)."),
    Setting("etcd.password", str, "", "Password of etcd.username."),
    Setting(
        "etcd.lease_ttl",
        str,
        "10s",
        "TTL of this agent's liveness lease: a dead agent turns critical after it.",
    ),
    Setting("acl.enabled", bool, False, "Enforce ACLs: tokens and policies, as Consul's acl.enabled."),
    Setting("acl.default_policy", str, "allow", "allow or deny: the verdict when no rule matches."),
    Setting("acl.enable_token_persistence", bool, False, "Keep /v1/agent/token changes across restarts."),
    Setting(
        "acl.tokens",
        dict,
        {},
        "initial_management (or master), agent_recovery (or agent_master), default, agent, replication, "
        "config_file_service_registration, dns.",
    ),
    Setting("acl.down_policy", str, "extend-cache", "Accepted for Consul compatibility; no effect."),
    Setting("acl.token_ttl", str, "30s", "Accepted for Consul compatibility; no effect."),
    Setting("acl.policy_ttl", str, "30s", "Accepted for Consul compatibility; no effect."),
    Setting("acl.role_ttl", str, "30s", "Accepted for Consul compatibility; no effect."),
    Setting("acl.enable_key_list_policy", bool, False, "Accepted for Consul compatibility; no effect."),
    Setting("acl.enable_token_replication", bool, False, "Accepted for Consul compatibility; no effect."),
    Setting("acl_datacenter", str, "", "Deprecated: a non-empty value enables ACLs (use acl.enabled)."),
    Setting("acl_default_policy", str, "allow", "Deprecated: acl.default_policy."),
    Setting("acl_down_policy", str, "extend-cache", "Deprecated: acl.down_policy."),
    Setting("acl_master_token", str, "", "Deprecated: acl.tokens.initial_management."),
    Setting("acl_token", str, "", "Deprecated: acl.tokens.default."),
    Setting("acl_agent_token", str, "", "Deprecated: acl.tokens.agent."),
    Setting("acl_agent_master_token", str, "", "Deprecated: acl.tokens.agent_recovery."),
    Setting("acl_replication_token", str, "", "Deprecated: acl.tokens.replication."),
)
BY_KEY = {setting.key: setting for setting in SETTINGS}
# Every `muster agent` flag, in the order --help and the docs list them.
FLAGS: tuple[Setting, ...] = (*COMMAND_LINE, *(setting for setting in SETTINGS if setting.flag))
# Every proper prefix of a dotted key is a section: `tls` and `tls.defaults` for tls.defaults.ca_file.
SECTIONS = {".".join(key.split(".")[:n]) for key in BY_KEY for n in range(1, key.count(".") + 1)}
# Consul keys Muster accepts so existing files load, and does not act on (logged at start).
IGNORED_CONSUL_KEYS = frozenset(
    {
        "bootstrap",
        "bootstrap_expect",
        "retry_join",
        "encrypt",
        "leave_on_terminate",
        "skip_leave_on_interrupt",
        "disable_update_check",
        "rejoin_after_leave",
        "telemetry",
        "performance",
        "raft_protocol",
        "advertise_addr",
        "start_join",
        "disable_remote_exec",
        "enable_debug",
    }
)


def default_text(setting: Setting) -> str:
    return setting.default if isinstance(setting.default, str) else json.dumps(setting.default)


def settings_markdown() -> str:
    """The configuration reference (docs/configuration.md is this text)."""
    lines = ["| key | flag | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        default = default_text(setting)
        flag = f"`{setting.flag}`" if setting.flag else ""
        lines.append(f"| `{setting.key}` | {flag} | `{default}` | {setting.help} |")
    return "\n".join(lines) + "\n"


def flag_value(setting: Setting) -> str:
    """How a flag takes its value, for --help and the docs."""
    if setting.kind is bool:
        return "`-x`, `-x=true\\|false`"
    if setting.kind is list:
        return "text, repeatable"
    if setting.kind is dict:
        return "`key:value`, repeatable"
    return "number" if setting.kind in (int, (int, float)) else "text"


def flags_markdown() -> str:
    """The agent's flags (docs/configuration.md holds this table too)."""
    lines = ["| flag | value | key | meaning |", "|---|---|---|---|"]
    for setting in FLAGS:
        key = f"`{setting.key}`" if setting.key else ""
        value = flag_value(setting).replace("-x", setting.flag)
        lines.append(f"| `{setting.flag}` | {value} | {key} | {setting.help} |")
    return "\n".join(lines) + "\n"
