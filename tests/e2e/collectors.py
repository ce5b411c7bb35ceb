"""What two monitoring collectors do against a Consul agent, replayed in Python from their source, so an
e2e test can assert that what they would parse parses: Netdata's go.d `consul` module (collect.go,
collect_checks.go, collect_autopilot.go, collect_net_rtt.go, collect_metrics.go) and Telegraf's
`inputs.consul` (consul.go over the Go api client's Health().State). Go's encoding/json is strict about
types: a field of the wrong JSON type fails the whole decode, and so fails the collector's cycle."""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from muster.golang import parse_duration
from tests.agentproc import AgentProcess, Reply

NETDATA_TIMEOUT = 1.0  # go.d's default HTTP timeout for the module
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")


class CollectError(Exception):
    """The collector's cycle failed: Netdata drops every metric of the cycle, Telegraf the gather."""


def go_field(obj: Any, key: str, kind: type | tuple[type, ...], *, nullable: bool = False) -> Any:
    """A struct field as encoding/json decodes it: absent is the zero value, the wrong type an error."""
    if not isinstance(obj, dict):
        raise CollectError(f"json: cannot unmarshal {type(obj).__name__} into a struct")
    if key not in obj:
        return None
    value = obj[key]
    if value is None and nullable:
        return None
    is_bool = isinstance(value, bool)
    wants_bool = kind is bool or (isinstance(kind, tuple) and bool in kind)
    if not isinstance(value, kind) or (is_bool and not wants_bool):
        raise CollectError(f"json: cannot unmarshal {value!r} into field {key} of type {kind}")
    return value


def go_time(text: str) -> datetime.datetime:
    """time.Time's UnmarshalJSON: RFC 3339, up to nanoseconds."""
    match = _RFC3339.match(text)
    if match is None:
        raise CollectError(f'parsing time "{text}" as RFC 3339')
    zone = match.group(2)
    minutes = 0 if zone == "Z" else (int(zone[1:3]) * 60 + int(zone[4:6])) * (1 if zone[0] == "+" else -1)
    stamp = datetime.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    micros = int(((match.group(1) or ".")[1:] + "000000")[:6])  # Python keeps microseconds
    zone_offset = datetime.timezone(datetime.timedelta(minutes=minutes))
    return stamp.replace(microsecond=micros, tzinfo=zone_offset)


@dataclass
class Netdata:
    """go.d's consul job: `/v1/agent/self` once, then one `collect()` per update_every."""

    agent: AgentProcess
    token: str = ""
    cfg: dict[str, Any] | None = None
    requests: list[tuple[str, int]] = field(default_factory=list)

    def _get(self, path: str, also: tuple[int, ...] = ()) -> Reply:
        headers = {"X-Consul-Token": self.token} if self.token else {}
        reply = self.agent.get(path, headers=headers, timeout=NETDATA_TIMEOUT)
        self.requests.append((path, reply.status))
        if reply.status != 200 and reply.status not in also:  # web.DoHTTP(...).OnNokCode
            raise CollectError(f"'{path}' returned HTTP status code: {reply.status}")
        return reply

    def _json(self, path: str, also: tuple[int, ...] = ()) -> Any:
        try:
            return json.loads(self._get(path, also).body)  # RequestJSON ignores the content type
        except ValueError as exc:
            raise CollectError(f"error decoding the response from '{path}': {exc}") from None

    def collect(self) -> dict[str, int]:
        if self.cfg is None:
            self.cfg = self._configuration()
        mx: dict[str, int] = {}
        self._checks(mx)
        config = self.cfg["Config"]
        if config["Server"]:
            if not self.cfg["CloudManaged"]:
                self._autopilot(mx)
            self._network_rtt(mx)
        if self.cfg["PrometheusExpiration"] != "0s":
            self._metrics_prometheus()
        return mx

    def _configuration(self) -> dict[str, Any]:
        document = self._json("/v1/agent/self")
        config = go_field(document, "Config", dict) or {}
        debug = go_field(document, "DebugConfig", dict) or {}
        telemetry = go_field(debug, "Telemetry", dict) or {}
        prometheus = go_field(telemetry, "PrometheusOpts", dict) or {}
        cloud = go_field(debug, "Cloud", dict) or {}
        stats = go_field(document, "Stats", dict) or {}
        go_field(go_field(stats, "License", dict) or {}, "ID", str)
        return {
            "Config": {
                "Datacenter": go_field(config, "Datacenter", str) or "",
                "NodeName": go_field(config, "NodeName", str) or "",
                "NodeID": go_field(config, "NodeID", str) or "",
                "Server": bool(go_field(config, "Server", bool)),
            },
            "PrometheusExpiration": go_field(prometheus, "Expiration", str) or "",
            "CloudManaged": bool(go_field(cloud, "ClientSecret", str) or go_field(cloud, "ResourceID", str)),
        }

    def _checks(self, mx: dict[str, int]) -> None:
        checks = self._json("/v1/agent/checks")
        if not isinstance(checks, dict):
            raise CollectError("json: cannot unmarshal into map[string]*agentCheck")
        for check_id, check in checks.items():
            for key in ("Node", "CheckID", "Name", "Status", "ServiceID", "ServiceName"):
                go_field(check, key, str)
            for tag in go_field(check, "ServiceTags", list, nullable=True) or []:
                if not isinstance(tag, str):
                    raise CollectError("json: cannot unmarshal ServiceTags")
            for status in ("passing", "warning", "critical", "maintenance"):
                mx[f"health_check_{check_id}_{status}_status"] = int(check["Status"] == status)

    def _autopilot(self, mx: dict[str, int]) -> None:
        health = self._json("/v1/operator/autopilot/health", also=(429,))
        node_id = self.cfg["Config"]["NodeID"] if self.cfg else ""
        for server in go_field(health, "Servers", list, nullable=True) or []:
            server_id = go_field(server, "ID", str)
            serf = go_field(server, "SerfStatus", str) or ""
            leader = bool(go_field(server, "Leader", bool))
            contact = go_field(server, "LastContact", str) or ""
            healthy, voter = go_field(server, "Healthy", bool), go_field(server, "Voter", bool)
            since = go_time(go_field(server, "StableSince", str) or "0001-01-01T00:00:00Z")
            if server_id != node_id:
                continue
            for status in ("alive", "left", "failed", "none"):
                mx[f"autopilot_server_sefStatus_{status}"] = int(serf == status)
            mx["autopilot_server_healthy_yes"], mx["autopilot_server_healthy_no"] = (
                int(healthy),
                int(not healthy),
            )
            mx["autopilot_server_voter_yes"], mx["autopilot_server_voter_no"] = int(voter), int(not voter)
            now = datetime.datetime.now(datetime.UTC)
            mx["autopilot_server_stable_time"] = int((now - since).total_seconds())
            if not leader:
                with contextlib.suppress(ValueError):  # Netdata skips an unparsable duration
                    mx["autopilot_server_lastContact_leader"] = parse_duration(contact) // 1_000_000
            break

    def _network_rtt(self, mx: dict[str, int]) -> None:
        coords = self._json("/v1/coordinate/nodes")
        if not isinstance(coords, list):
            raise CollectError("json: cannot unmarshal into []nodeCoordinates")
        parsed = []
        for entry in coords:
            coord = go_field(entry, "Coord", dict) or {}
            vec = go_field(coord, "Vec", list, nullable=True) or []
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vec):
                raise CollectError("json: cannot unmarshal Vec")
            numbers = [go_field(coord, k, int | float) or 0.0 for k in ("Error", "Adjustment", "Height")]
            parsed.append((go_field(entry, "Node", str), vec, numbers[1], numbers[2]))
        name = self.cfg["Config"]["NodeName"] if self.cfg else ""
        this = next((entry for entry in parsed if entry[0] == name), None)
        others = [entry for entry in parsed if entry[0] != name]
        if this is None or not others:
            return  # its own node missing, or no other node: no RTT, no error
        rtts = []
        for _, vec, adjustment, height in others:
            rtt = math.sqrt(sum((a - b) ** 2 for a, b in zip(this[1], vec, strict=False))) + this[3] + height
            adjusted = rtt + this[2] + adjustment
            rtts.append(adjusted if adjusted > 0 else rtt)
        mx["network_lan_rtt_count"] = len(rtts)
        mx["network_lan_rtt_max"] = int(max(rtts) * 1e9)

    def _metrics_prometheus(self) -> None:
        reply = self._get("/v1/agent/metrics?format=prometheus")
        try:
            list(text_string_to_metric_families(reply.text))
        except ValueError as exc:
            raise CollectError(f"prometheus scrape: {exc}") from None


@dataclass(frozen=True)
class TelegrafPoint:
    """One `consul_health_checks` point (metric_version = 2)."""

    tags: dict[str, str]
    fields: dict[str, int]


def telegraf_gather(
    agent: AgentProcess, token: str = "", datacenter: str = "", tag_delimiter: str = ""
) -> list[TelegrafPoint]:
    """inputs.consul's Gather: the api client's Health().State("any", nil), then GatherHealthCheck."""
    headers = {"X-Consul-Token": token} if token else {}
    reply = agent.get("/v1/health/state/any" + (f"?dc={datacenter}" if datacenter else ""), headers=headers)
    if reply.status != 200:  # the api client's requireOK
        raise CollectError(f"Unexpected response code: {reply.status} ({reply.text})")
    _query_meta(reply)
    checks = reply.json()
    if not isinstance(checks, list):
        raise CollectError("json: cannot unmarshal into []*api.HealthCheck")
    return [_point(check, tag_delimiter) for check in checks]


def _query_meta(reply: Reply) -> None:
    """The api client's parseQueryMeta: these headers must parse when present."""
    for name in ("X-Consul-Index", "X-Consul-LastContact"):
        value = reply.header(name) or "0"
        if not value.isdigit():
            raise CollectError(f"Failed to parse {name}: {value!r}")
    if reply.header("X-Cache") and not (reply.header("Age") or "0").isdigit():
        raise CollectError("Failed to parse Age")


def _point(check: Any, tag_delimiter: str) -> TelegrafPoint:
    for key in ("Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName", "Type"):
        go_field(check, key, str)
    for key in ("CreateIndex", "ModifyIndex"):
        go_field(check, key, int)
    definition = go_field(check, "Definition", dict, nullable=True) or {}
    for key in ("Interval", "Timeout", "DeregisterCriticalServiceAfter"):
        value = go_field(definition, key, str | int)
        if isinstance(value, str):  # HealthCheckDefinition.UnmarshalJSON parses duration strings
            try:
                parse_duration(value)
            except ValueError as exc:
                raise CollectError(str(exc)) from None
    service_tags = go_field(check, "ServiceTags", list, nullable=True) or []
    status = check["Status"]
    fields = {"passing": 0, "critical": 0, "warning": 0, status: 1}
    tags = {"check_name": check["Name"], "service_id": check.get("ServiceID", ""), "status": status}
    tags |= {
        "node": check["Node"],
        "service_name": check.get("ServiceName", ""),
        "check_id": check["CheckID"],
    }
    for tag in service_tags:
        if not isinstance(tag, str):
            raise CollectError("json: cannot unmarshal ServiceTags")
        pieces = tag.split(tag_delimiter, 1) if tag_delimiter else [tag]
        if len(pieces) == 1 and tag:
            tags[tag] = tag
        elif len(pieces) == 2 and pieces[1]:
            tags[pieces[0]] = pieces[1]
    return TelegrafPoint(tags, fields)
