"""The request bodies Consul's agent decodes strictly (§1.6) as typed Structs with their snake_case
aliases; each one's decode Schema is derived from it (bodytypes.py).

How far the typing goes: every field Muster reads is typed, down to a check's. A service's `Proxy` and
`Locality` are stored and echoed as given (key order included), so they stay the JSON the normaliser
makes for the Schemas below, the only shapes declared as tables; free-form JSON (`Config`) is opaque.
`X | None` is Go's pointer (not given: None); `address` and `h2ping_use_tls` are optional because
their absence means something (the parent's address for a sidecar; true)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from muster.bodytypes import BodyType, Duration, GoStruct, normalised
from muster.decode import BOOL, INT, OPAQUE, STR, STRUCT, STRUCT_LIST, Field, Schema
from muster.models import Int64


def _alias(name: str, kind: str, canonical: str, schema: Schema | None = None) -> Field:
    return Field(name, kind, schema, alias_of=canonical)


LOCALITY = Schema("structs.Locality", [Field("Region", STR), Field("Zone", STR)])
MESH_GATEWAY = Schema("structs.MeshGatewayConfig", [Field("Mode", STR)])
TRANSPARENT_PROXY = Schema(
    "structs.TransparentProxyConfig",
    [
        Field("OutboundListenerPort", INT),
        Field("DialedDirectly", BOOL),
        _alias("outbound_listener_port", INT, "OutboundListenerPort"),
        _alias("dialed_directly", BOOL, "DialedDirectly"),
    ],
)
EXPOSE_PATH = Schema(
    "structs.ExposePath",
    [
        Field("ListenerPort", INT),
        Field("Path", STR),
        Field("LocalPathPort", INT),
        Field("Protocol", STR),
        Field("ParsedFromCheck", BOOL),
        _alias("listener_port", INT, "ListenerPort"),
        _alias("local_path_port", INT, "LocalPathPort"),
    ],
)
EXPOSE = Schema("structs.ExposeConfig", [Field("Checks", BOOL), Field("Paths", STRUCT_LIST, EXPOSE_PATH)])
ACCESS_LOGS = Schema(
    "structs.AccessLogsConfig",
    [
        Field("Enabled", BOOL),
        Field("DisableListenerLogs", BOOL),
        Field("Type", STR),
        Field("Path", STR),
        Field("JSONFormat", STR),
        Field("TextFormat", STR),
    ],
)
UPSTREAM = Schema(
    "structs.Upstream",
    [
        Field("DestinationType", STR),
        Field("DestinationNamespace", STR),
        Field("DestinationPartition", STR),
        Field("DestinationPeer", STR),
        Field("DestinationName", STR),
        Field("Datacenter", STR),
        Field("LocalBindAddress", STR),
        Field("LocalBindPort", INT),
        Field("LocalBindSocketPath", STR),
        Field("LocalBindSocketMode", STR),
        Field("Config", OPAQUE),
        Field("MeshGateway", STRUCT, MESH_GATEWAY),
        Field("CentrallyConfigured", BOOL),
        _alias("destination_type", STR, "DestinationType"),
        _alias("destination_namespace", STR, "DestinationNamespace"),
        _alias("destination_partition", STR, "DestinationPartition"),
        _alias("destination_peer", STR, "DestinationPeer"),
        _alias("destination_name", STR, "DestinationName"),
        _alias("local_bind_address", STR, "LocalBindAddress"),
        _alias("local_bind_port", INT, "LocalBindPort"),
        _alias("local_bind_socket_path", STR, "LocalBindSocketPath"),
        _alias("local_bind_socket_mode", STR, "LocalBindSocketMode"),
        _alias("mesh_gateway", STRUCT, "MeshGateway", MESH_GATEWAY),
    ],
)
PROXY = Schema(
    "structs.ConnectProxyConfig",
    [
        Field("EnvoyExtensions", OPAQUE),
        Field("DestinationServiceName", STR),
        Field("DestinationServiceID", STR),
        Field("LocalServiceAddress", STR),
        Field("LocalServicePort", INT),
        Field("LocalServiceSocketPath", STR),
        Field("Mode", STR),
        Field("TransparentProxy", STRUCT, TRANSPARENT_PROXY),
        Field("Config", OPAQUE),
        Field("Upstreams", STRUCT_LIST, UPSTREAM),
        Field("MeshGateway", STRUCT, MESH_GATEWAY),
        Field("Expose", STRUCT, EXPOSE),
        Field("AccessLogs", STRUCT, ACCESS_LOGS),
        _alias("destination_service_name", STR, "DestinationServiceName"),
        _alias("destination_service_id", STR, "DestinationServiceID"),
        _alias("local_service_address", STR, "LocalServiceAddress"),
        _alias("local_service_port", INT, "LocalServicePort"),
        _alias("local_service_socket_path", STR, "LocalServiceSocketPath"),
        _alias("mesh_gateway", STRUCT, "MeshGateway", MESH_GATEWAY),
        _alias("transparent_proxy", STRUCT, "TransparentProxy", TRANSPARENT_PROXY),
        _alias("access_logs", STRUCT, "AccessLogs", ACCESS_LOGS),
    ],
)

ProxyJSON = Annotated[dict[str, Any], normalised(PROXY)]
LocalityJSON = Annotated[dict[str, str], normalised(LOCALITY)]

_CHECK_ALIASES = (
    ("args", "script_args"),
    ("script_args", "script_args"),
    ("deregister_critical_service_after", "deregister_critical_service_after"),
    ("docker_container_id", "docker_container_id"),
    ("tls_server_name", "tls_server_name"),
    ("tls_skip_verify", "tls_skip_verify"),
    ("tcp_use_tls", "tcp_use_tls"),
    ("grpc_use_tls", "grpc_use_tls"),
    ("h2ping_use_tls", "h2ping_use_tls"),
    ("service_id", "service_id"),
)


class CheckBody(GoStruct):
    """The fields every check object has, in a service (CheckType) and at /check/register."""

    check_id: str = msgspec.field(default="", name="CheckID")
    name: str = ""
    status: str = ""
    notes: str = ""
    script_args: list[str] = msgspec.field(default_factory=list)
    http: str = ""
    header: dict[str, list[str]] = msgspec.field(default_factory=dict)
    method: str = ""
    body: str = ""
    disable_redirects: bool = False
    tcp: str = ""
    tcp_use_tls: bool = False
    udp: str = ""
    interval: Duration = Duration(0)
    alias_node: str = ""
    alias_service: str = ""
    docker_container_id: str = ""
    shell: str = ""
    grpc: str = ""
    grpc_use_tls: bool = False
    h2ping: str = msgspec.field(default="", name="H2PING")
    h2ping_use_tls: bool | None = msgspec.field(default=None, name="H2PingUseTLS")  # None: true
    os_service: str = ""
    tls_server_name: str = ""
    tls_skip_verify: bool = False
    timeout: Duration = Duration(0)
    ttl: Duration = Duration(0)
    success_before_passing: Int64 = 0
    failures_before_warning: Int64 = 0
    failures_before_critical: Int64 = 0
    deregister_critical_service_after: Duration = Duration(0)
    output_max_size: Int64 = 0
    service_id: str = ""


class CheckType(CheckBody):
    """A check inside a service definition (`Check`, `Checks`)."""

    go_type = "structs.CheckType"
    aliases = _CHECK_ALIASES

    proxy_http: str = ""
    proxy_grpc: str = ""


class CheckDefinitionBody(CheckBody):
    """The /v1/agent/check/register body; its ID is `ID`, not `CheckID`."""

    go_type = "structs.CheckDefinition"
    aliases = (*_CHECK_ALIASES, ("disable_redirects", "disable_redirects"))

    check_id: str = msgspec.field(default="", name="ID")
    token: str = ""
    namespace: str = ""


class TaggedAddress(GoStruct):
    go_type = "structs.ServiceAddress"

    address: str = ""
    port: Int64 = 0


class Weights(GoStruct):
    go_type = "structs.Weights"

    passing: Int64 = 0
    warning: Int64 = 0


class ServiceConnect(GoStruct):
    """Consul ignores its other keys (the managed-proxy era's `Proxy`, ...)."""

    go_type = "structs.ServiceConnect"
    aliases = (("sidecar_service", "sidecar_service"),)
    lenient = True

    native: bool = False
    sidecar_service: ServiceBody | None = None


class ServiceBody(GoStruct):
    """A service definition's fields, as a sidecar's (`Connect.SidecarService`) has them."""

    go_type = "structs.ServiceDefinition"
    aliases = (("enable_tag_override", "enable_tag_override"), ("tagged_addresses", "tagged_addresses"))

    kind: str = ""
    id: str = ""
    name: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    address: str | None = None
    tagged_addresses: dict[str, TaggedAddress] = msgspec.field(default_factory=dict)
    meta: dict[str, str] = msgspec.field(default_factory=dict)
    port: Int64 = 0
    socket_path: str = ""
    check: CheckType | None = None
    checks: list[CheckType] = msgspec.field(default_factory=list)
    weights: Weights | None = None
    token: str = ""
    enable_tag_override: bool = False
    proxy: ProxyJSON | None = None
    locality: LocalityJSON | None = None
    connect: ServiceConnect | None = None


class ServiceDefinition(ServiceBody):
    """The /v1/agent/service/register body (a config file's `service`): a sidecar's has no Namespace."""

    namespace: str = ""


class CheckUpdate(GoStruct):
    """The PUT /v1/agent/check/update/:id body."""

    go_type = "checkUpdate"

    status: str = ""
    output: str = ""


class AgentToken(GoStruct):
    """The PUT /v1/agent/token/:kind body."""

    go_type = "api.AgentToken"

    token: str = ""


SERVICE_DEFINITION = BodyType(ServiceDefinition)
CHECK_DEFINITION = BodyType(CheckDefinitionBody)
CHECK_UPDATE = BodyType(CheckUpdate)
TOKEN_UPDATE = BodyType(AgentToken)
