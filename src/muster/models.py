"""Services and checks as the agent stores them, and the only place that knows their wire shapes:
Consul's AgentService (§2.11), HealthCheck (§2.12) and the health endpoints' api.HealthCheck (§2.13)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from muster import contenthash as ch
from muster.golang import format_duration, format_optional_duration

DEFAULT_NAMESPACE = "default"
PROXY_KINDS = frozenset(
    {"connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway", "api-gateway"}
)
PASSING, WARNING, CRITICAL, MAINTENANCE = "passing", "warning", "critical", "maintenance"
CHECK_STATUSES = frozenset({PASSING, WARNING, CRITICAL})
NODE_MAINTENANCE_ID = "_node_maintenance"
# Go's int64 (time.Duration, int): the API refuses anything outside it, and a stored row outside it
# fails to decode and is quarantined at start-up (quarantine.py) instead of failing when applied.
Int64 = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
SERVICE_MAINTENANCE_PREFIX = "_service_maintenance:"


class ServiceAddress(msgspec.Struct, array_like=True):
    address: str
    port: int


class Service(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A service instance registered on this agent, with Consul's defaults already filled in."""

    id: str
    name: str
    kind: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    meta: dict[str, str] = msgspec.field(default_factory=dict)
    port: int = 0
    address: str = ""
    socket_path: str = ""
    tagged_addresses: dict[str, ServiceAddress] = msgspec.field(default_factory=dict)
    weights_passing: int = 1
    weights_warning: int = 1
    enable_tag_override: bool = False
    proxy: dict[str, Any] | None = None
    connect_native: bool = False
    locality: dict[str, str] | None = None
    namespace: str = DEFAULT_NAMESPACE
    token: str = ""
    source: str = "remote"  # "remote" (HTTP API) or "local" (config file), as Consul records it
    sidecar_of: str = ""  # parent service ID when registered as its sidecar


class CheckDefinition(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A check as registered: what to run and how; its live status lives in `Check`."""

    check_id: str
    name: str
    namespace: str = DEFAULT_NAMESPACE
    service_id: str = ""
    status: str = ""  # initial status as given
    notes: str = ""
    type: str = ""
    script_args: list[str] = msgspec.field(default_factory=list)
    http: str = ""
    header: dict[str, list[str]] = msgspec.field(default_factory=dict)
    method: str = ""
    body: str = ""
    disable_redirects: bool = False
    tcp: str = ""
    tcp_use_tls: bool = False
    udp: str = ""
    grpc: str = ""
    grpc_use_tls: bool = False
    h2ping: str = ""
    h2ping_use_tls: bool = True
    os_service: str = ""
    alias_node: str = ""
    alias_service: str = ""
    docker_container_id: str = ""
    shell: str = ""
    tls_server_name: str = ""
    tls_skip_verify: bool = False
    interval: Int64 = 0  # nanoseconds, as every duration here
    timeout: Int64 = 0
    ttl: Int64 = 0
    success_before_passing: Int64 = 0
    failures_before_warning: Int64 = 0
    failures_before_critical: Int64 = 0
    deregister_critical_service_after: Int64 = 0
    output_max_size: Int64 = 0
    # /check/register shows zero durations as "0s"; service-embedded checks show "".
    show_zero_durations: bool = False
    token: str = ""
    source: str = "remote"


class Check(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A check's live state: its definition, current status and output, and its service's labels."""

    definition: CheckDefinition
    status: str
    output: str = ""
    service_name: str = ""
    service_tags: list[str] | None = None
    create_index: int = 0  # the catalog's CreateIndex and ModifyIndex for this check (0: not kept)
    modify_index: int = 0


def service_key(namespace: str, service_id: str) -> tuple[str, str]:
    return (namespace, service_id)


def _sorted_map(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: mapping[key] for key in sorted(mapping)}


_PROXY_ORDER = (
    "EnvoyExtensions",
    "DestinationServiceName",
    "DestinationServiceID",
    "LocalServiceAddress",
    "LocalServicePort",
    "LocalServiceSocketPath",
    "Mode",
    "TransparentProxy",
    "Config",
    "Upstreams",
    "MeshGateway",
    "Expose",
    "AccessLogs",
)
_ALWAYS_PRESENT = frozenset({"MeshGateway", "Expose"})


def _omit_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _omit_empty(v) for k, v in value.items() if v not in (None, "", 0, False, [], {})}
    if isinstance(value, list):
        return [_omit_empty(item) for item in value]
    return value


def render_proxy(proxy: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _PROXY_ORDER:
        value = proxy.get(key)
        if key == "Config" and value:
            out[key] = value  # opaque: rendered as given
        elif key in _ALWAYS_PRESENT:
            out[key] = _omit_empty(value or {})
        elif value not in (None, "", 0, False, [], {}):
            out[key] = _omit_empty(value)
    return out


def agent_service(service: Service, datacenter: str, content_hash: str | None = None) -> dict[str, Any]:
    """The AgentService wire object, keys in Consul's order with its omit rules."""
    out: dict[str, Any] = {}
    if service.kind:
        out["Kind"] = service.kind
    out["ID"] = service.id
    out["Service"] = service.name
    out["Tags"] = service.tags
    out["Meta"] = _sorted_map(service.meta)
    out["Port"] = service.port
    out["Address"] = service.address
    if service.socket_path:
        out["SocketPath"] = service.socket_path
    if service.tagged_addresses:
        out["TaggedAddresses"] = {
            key: {"Address": addr.address, "Port": addr.port}
            for key, addr in sorted(service.tagged_addresses.items())
        }
    out["Weights"] = {"Passing": service.weights_passing or 1, "Warning": service.weights_warning}
    out["EnableTagOverride"] = service.enable_tag_override
    if content_hash is not None:
        out["ContentHash"] = content_hash
    if service.kind in PROXY_KINDS:
        out["Proxy"] = render_proxy(service.proxy or {})
    if service.connect_native:
        out["Connect"] = {"Native": True}
    if service.namespace != DEFAULT_NAMESPACE:
        out["Namespace"] = service.namespace
    out["Datacenter"] = datacenter
    if service.locality:
        out["Locality"] = {
            "Region": service.locality.get("Region", ""),
            "Zone": service.locality.get("Zone", ""),
        }
    return out


def content_hash(service: Service) -> str:
    """Consul's ContentHash of the AgentService (§4.1); Namespace, Datacenter, Locality are ignored."""
    tagged = ch.hash_map(
        (
            ch.hash_str(key),
            ch.hash_struct(
                "ServiceAddress",
                (("Address", ch.hash_str(addr.address)), ("Port", ch.hash_int(addr.port))),
            ),
        )
        for key, addr in service.tagged_addresses.items()
    )
    weights = ch.hash_struct(
        "AgentWeights",
        (
            ("Passing", ch.hash_int(service.weights_passing)),
            ("Warning", ch.hash_int(service.weights_warning)),
        ),
    )
    proxy = (
        ch.hash_value(render_proxy(service.proxy or {}), "AgentServiceConnectProxyConfig")
        if service.kind in PROXY_KINDS
        else ch.NIL
    )
    connect = (
        ch.hash_struct("AgentServiceConnect", (("Native", ch.hash_bool(True)), ("SidecarService", ch.NIL)))
        if service.connect_native
        else ch.NIL
    )
    fields = (
        ("Kind", ch.hash_str(service.kind)),
        ("ID", ch.hash_str(service.id)),
        ("Service", ch.hash_str(service.name)),
        ("Tags", ch.hash_list(ch.hash_str(tag) for tag in service.tags)),
        ("Meta", ch.hash_string_map(service.meta)),
        ("Port", ch.hash_int(service.port)),
        ("Address", ch.hash_str(service.address)),
        ("SocketPath", ch.hash_str(service.socket_path)),
        ("TaggedAddresses", tagged),
        ("Weights", weights),
        ("EnableTagOverride", ch.hash_bool(service.enable_tag_override)),
        ("CreateIndex", ch.hash_int(0)),
        ("ModifyIndex", ch.hash_int(0)),
        ("ContentHash", ch.hash_str("")),
        ("Proxy", proxy),
        ("Connect", connect),
        ("PeerName", ch.hash_str("")),
    )
    return ch.format_hash(ch.hash_struct("AgentService", fields))


def _check_head(check: Check, node: str, service_tags: list[str] | None) -> dict[str, Any]:
    """The keys every HealthCheck shape starts with, in Consul's order."""
    definition = check.definition
    return {
        "Node": node,
        "CheckID": definition.check_id,
        "Name": definition.name,
        "Status": check.status,
        "Notes": definition.notes,
        "Output": check.output,
        "ServiceID": definition.service_id,
        "ServiceName": check.service_name,
        "ServiceTags": service_tags,
    }


def agent_check(check: Check, node: str) -> dict[str, Any]:
    """A HealthCheck as `/v1/agent/checks` shows it (§2.12)."""
    definition = check.definition
    show = format_duration if definition.show_zero_durations else format_optional_duration
    out = _check_head(check, node, check.service_tags or [])
    out["Type"] = definition.type
    out["Interval"] = show(definition.interval)
    out["Timeout"] = show(definition.timeout)
    out["ExposedPort"] = 0
    out["Definition"] = {}
    if definition.namespace != DEFAULT_NAMESPACE:
        out["Namespace"] = definition.namespace
    out["CreateIndex"] = 0
    out["ModifyIndex"] = 0
    return out


_ZERO_DEFINITION: dict[str, Any] = {
    "Interval": "0s",
    "Timeout": "0s",
    "DeregisterCriticalServiceAfter": "0s",
    "HTTP": "",
    "Header": None,
    "Method": "",
    "Body": "",
    "TLSServerName": "",
    "TLSSkipVerify": False,
    "TCP": "",
    "TCPUseTLS": False,
    "UDP": "",
    "GRPC": "",
    "OSService": "",
    "GRPCUseTLS": False,
}


def health_check(check: Check, node: str) -> dict[str, Any]:
    """The api.HealthCheck shape inside the agent health endpoints (§2.13): Type is always ""."""
    definition = check.definition
    out = _check_head(check, node, check.service_tags)
    out["Type"] = ""
    if definition.namespace != DEFAULT_NAMESPACE:
        out["Namespace"] = definition.namespace
    out["ExposedPort"] = 0
    out["Definition"] = _ZERO_DEFINITION
    out["CreateIndex"] = 0
    out["ModifyIndex"] = 0
    return out


def is_maintenance(check_id: str) -> bool:
    return check_id == NODE_MAINTENANCE_ID or check_id.startswith(SERVICE_MAINTENANCE_PREFIX)


def aggregate_status(checks: list[Check]) -> str:
    """Worst status of an instance's checks; maintenance dominates; no checks is passing (§2.7)."""
    worst = PASSING
    for check in checks:
        if is_maintenance(check.definition.check_id):
            return MAINTENANCE
        if check.status == CRITICAL:
            worst = CRITICAL
        elif check.status == WARNING and worst == PASSING:
            worst = WARNING
    return worst
