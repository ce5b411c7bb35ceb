"""The request-body schemas Consul's agent decodes strictly (§1.6), with their snake_case aliases."""

from __future__ import annotations

from muster.decode import (
    BOOL,
    DURATION,
    HEADER_MAP,
    INT,
    OPAQUE,
    STR,
    STR_LIST,
    STR_MAP,
    STRUCT,
    STRUCT_LIST,
    STRUCT_MAP,
    Field,
    Schema,
)


def _alias(name: str, kind: str, canonical: str, schema: Schema | None = None) -> Field:
    return Field(name, kind, schema, alias_of=canonical)


SERVICE_ADDRESS = Schema("structs.ServiceAddress", [Field("Address", STR), Field("Port", INT)])
WEIGHTS = Schema("structs.Weights", [Field("Passing", INT), Field("Warning", INT)])
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

# Fields every check object has, in the service form (CheckType) and the /check/register form.
_CHECK_COMMON = [
    Field("Name", STR),
    Field("Status", STR),
    Field("Notes", STR),
    Field("ScriptArgs", STR_LIST),
    Field("HTTP", STR),
    Field("Header", HEADER_MAP),
    Field("Method", STR),
    Field("Body", STR),
    Field("DisableRedirects", BOOL),
    Field("TCP", STR),
    Field("TCPUseTLS", BOOL),
    Field("UDP", STR),
    Field("Interval", DURATION),
    Field("AliasNode", STR),
    Field("AliasService", STR),
    Field("DockerContainerID", STR),
    Field("Shell", STR),
    Field("GRPC", STR),
    Field("GRPCUseTLS", BOOL),
    Field("H2PING", STR),
    Field("H2PingUseTLS", BOOL),
    Field("OSService", STR),
    Field("TLSServerName", STR),
    Field("TLSSkipVerify", BOOL),
    Field("Timeout", DURATION),
    Field("TTL", DURATION),
    Field("SuccessBeforePassing", INT),
    Field("FailuresBeforeWarning", INT),
    Field("FailuresBeforeCritical", INT),
    Field("DeregisterCriticalServiceAfter", DURATION),
    Field("OutputMaxSize", INT),
    Field("ServiceID", STR),
]
_CHECK_ALIASES = [
    _alias("args", STR_LIST, "ScriptArgs"),
    _alias("script_args", STR_LIST, "ScriptArgs"),
    _alias("deregister_critical_service_after", DURATION, "DeregisterCriticalServiceAfter"),
    _alias("docker_container_id", STR, "DockerContainerID"),
    _alias("tls_server_name", STR, "TLSServerName"),
    _alias("tls_skip_verify", BOOL, "TLSSkipVerify"),
    _alias("tcp_use_tls", BOOL, "TCPUseTLS"),
    _alias("grpc_use_tls", BOOL, "GRPCUseTLS"),
    _alias("h2ping_use_tls", BOOL, "H2PingUseTLS"),
    _alias("service_id", STR, "ServiceID"),
]

CHECK_TYPE = Schema(
    "structs.CheckType",
    [
        Field("CheckID", STR),
        *_CHECK_COMMON,
        Field("ProxyHTTP", STR),
        Field("ProxyGRPC", STR),
        *_CHECK_ALIASES,
    ],
)
CHECK_DEFINITION = Schema(
    "structs.CheckDefinition",
    [
        Field("ID", STR),
        *_CHECK_COMMON,
        Field("Token", STR),
        Field("Namespace", STR),
        *_CHECK_ALIASES,
        _alias("disable_redirects", BOOL, "DisableRedirects"),
    ],
)

_SERVICE_FIELDS = [
    Field("Kind", STR),
    Field("ID", STR),
    Field("Name", STR),
    Field("Tags", STR_LIST),
    Field("Address", STR),
    Field("TaggedAddresses", STRUCT_MAP, SERVICE_ADDRESS),
    Field("Meta", STR_MAP),
    Field("Port", INT),
    Field("SocketPath", STR),
    Field("Check", STRUCT, CHECK_TYPE),
    Field("Checks", STRUCT_LIST, CHECK_TYPE),
    Field("Weights", STRUCT, WEIGHTS),
    Field("Token", STR),
    Field("EnableTagOverride", BOOL),
    Field("Proxy", STRUCT, PROXY),
    Field("Locality", STRUCT, LOCALITY),
    _alias("enable_tag_override", BOOL, "EnableTagOverride"),
    _alias("tagged_addresses", STRUCT_MAP, "TaggedAddresses", SERVICE_ADDRESS),
]
SIDECAR_SERVICE = Schema("structs.ServiceDefinition", list(_SERVICE_FIELDS))
_SIDECAR_CONNECT = Schema(
    "structs.ServiceConnect",
    [
        Field("Native", BOOL),
        Field("SidecarService", STRUCT, SIDECAR_SERVICE),
        _alias("sidecar_service", STRUCT, "SidecarService", SIDECAR_SERVICE),
    ],
    lenient=True,
)
SIDECAR_SERVICE.fields.append(Field("Connect", STRUCT, _SIDECAR_CONNECT))

SERVICE_DEFINITION = Schema(
    "structs.ServiceDefinition",
    [*_SERVICE_FIELDS, Field("Connect", STRUCT, _SIDECAR_CONNECT), Field("Namespace", STR)],
)

CHECK_UPDATE = Schema("checkUpdate", [Field("Status", STR), Field("Output", STR)])
TOKEN_UPDATE = Schema("api.AgentToken", [Field("Token", STR)])
