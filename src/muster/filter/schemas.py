"""The element types Muster filters, described as go-bexpr sees the Go structs Consul filters.

`AgentService` is Consul's `api.AgentService` (`/v1/agent/services`), `HealthCheck` its
`structs.HealthCheck` (`/v1/agent/checks`); field names are the Go names, which are also the JSON keys.
Fields tagged `bexpr:"-"` (indexes, hashes, namespace, partition, datacenter, locality, opaque `Config`
maps, check `Definition`) are left out, so selecting them is "not valid", as in Consul.
`FlatStruct`, `NestedTypes` and `MapOfBoolMaps` are go-bexpr's own test types, used by the test vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from muster.filter.compiler import Schema
from muster.filter.types import BOOL, INT, STRING, GoType, Map, Opaque, Prim, Ptr, Slice, Struct

_MESH_GATEWAY = Struct("MeshGatewayConfig", {"Mode": STRING})

_UPSTREAM = Struct(
    "Upstream",
    {
        "DestinationType": STRING,
        "DestinationPartition": STRING,
        "DestinationNamespace": STRING,
        "DestinationPeer": STRING,
        "DestinationName": STRING,
        "Datacenter": STRING,
        "LocalBindAddress": STRING,
        "LocalBindPort": INT,
        "LocalBindSocketPath": STRING,
        "LocalBindSocketMode": STRING,
        "MeshGateway": _MESH_GATEWAY,
    },
)

_EXPOSE_PATH = Struct(
    "ExposePath",
    {"ListenerPort": INT, "Path": STRING, "LocalPathPort": INT, "Protocol": STRING, "ParsedFromCheck": BOOL},
)

_PROXY = Struct(
    "AgentServiceConnectProxyConfig",
    {
        "EnvoyExtensions": Slice(
            Struct(
                "EnvoyExtension",
                {"Name": STRING, "Required": BOOL, "ConsulVersion": STRING, "EnvoyVersion": STRING},
            )
        ),
        "DestinationServiceName": STRING,
        "DestinationServiceID": STRING,
        "LocalServiceAddress": STRING,
        "LocalServicePort": INT,
        "LocalServiceSocketPath": STRING,
        "Mode": STRING,
        "TransparentProxy": Ptr(
            Struct("TransparentProxyConfig", {"OutboundListenerPort": INT, "DialedDirectly": BOOL})
        ),
        "Upstreams": Slice(_UPSTREAM),
        "MeshGateway": _MESH_GATEWAY,
        "Expose": Struct("ExposeConfig", {"Checks": BOOL, "Paths": Slice(_EXPOSE_PATH)}),
        "AccessLogs": Ptr(
            Struct(
                "AccessLogsConfig",
                {
                    "Enabled": BOOL,
                    "DisableListenerLogs": BOOL,
                    "Type": STRING,
                    "Path": STRING,
                    "JSONFormat": STRING,
                    "TextFormat": STRING,
                },
            )
        ),
    },
)

AGENT_SERVICE = Schema(
    "AgentService",
    Struct(
        "AgentService",
        {
            "Kind": STRING,
            "ID": STRING,
            "Service": STRING,
            "Tags": Slice(STRING),
            "Meta": Map(STRING),
            "Port": INT,
            "Address": STRING,
            "SocketPath": STRING,
            "TaggedAddresses": Map(Struct("ServiceAddress", {"Address": STRING, "Port": INT})),
            "Weights": Struct("AgentWeights", {"Passing": INT, "Warning": INT}),
            "EnableTagOverride": BOOL,
            "Proxy": Ptr(_PROXY),
            "Connect": Ptr(Struct("AgentServiceConnect", {"Native": BOOL})),
            "PeerName": STRING,
        },
    ),
)

_HEALTH_CHECK_STRUCT = Struct(
    "HealthCheck",
    {
        "Node": STRING,
        "CheckID": STRING,
        "Name": STRING,
        "Status": STRING,
        "Notes": STRING,
        "Output": STRING,
        "ServiceID": STRING,
        "ServiceName": STRING,
        "ServiceTags": Slice(STRING),
        "Type": STRING,
        "Interval": STRING,
        "Timeout": STRING,
        "ExposedPort": INT,
        "PeerName": STRING,
    },
)
HEALTH_CHECK = Schema("HealthCheck", _HEALTH_CHECK_STRUCT)

# The catalog and health shapes (Consul's structs.Node, ServiceNode, CheckServiceNode), for
# /v1/catalog/nodes, /v1/catalog/service/:name and /v1/health/service/:name; indexes are hidden.
_NODE_FIELDS: dict[str, GoType] = {
    "ID": STRING,
    "Node": STRING,
    "Address": STRING,
    "Datacenter": STRING,
    "TaggedAddresses": Map(STRING),
    "Meta": Map(STRING),
}
NODE = Schema("Node", Struct("Node", dict(_NODE_FIELDS)))
_SERVICE_WEIGHTS = Struct("Weights", {"Passing": INT, "Warning": INT})
_SERVICE_ADDRESS = Struct("ServiceAddress", {"Address": STRING, "Port": INT})
SERVICE_NODE = Schema(
    "ServiceNode",
    Struct(
        "ServiceNode",
        {
            "ID": STRING,
            "Node": STRING,
            "Address": STRING,
            "Datacenter": STRING,
            "TaggedAddresses": Map(STRING),
            "NodeMeta": Map(STRING),
            "ServiceKind": STRING,
            "ServiceID": STRING,
            "ServiceName": STRING,
            "ServiceTags": Slice(STRING),
            "ServiceAddress": STRING,
            "ServiceTaggedAddresses": Map(_SERVICE_ADDRESS),
            "ServiceWeights": _SERVICE_WEIGHTS,
            "ServiceMeta": Map(STRING),
            "ServicePort": INT,
            "ServiceSocketPath": STRING,
            "ServiceEnableTagOverride": BOOL,
            "ServiceProxy": _PROXY,
            "ServiceConnect": Struct("ServiceConnect", {"Native": BOOL}),
        },
    ),
)
_NODE_SERVICE = Struct(
    "NodeService",
    {
        "Kind": STRING,
        "ID": STRING,
        "Service": STRING,
        "Tags": Slice(STRING),
        "Address": STRING,
        "TaggedAddresses": Map(_SERVICE_ADDRESS),
        "Meta": Map(STRING),
        "Port": INT,
        "SocketPath": STRING,
        "Weights": _SERVICE_WEIGHTS,
        "EnableTagOverride": BOOL,
        "Proxy": _PROXY,
        "Connect": Struct("ServiceConnect", {"Native": BOOL}),
        "PeerName": STRING,
    },
)
NODE_SERVICE = Schema("NodeService", _NODE_SERVICE)  # /v1/catalog/node/:n and node-services/:n
CHECK_SERVICE_NODE = Schema(
    "CheckServiceNode",
    Struct(
        "CheckServiceNode",
        {
            "Node": Ptr(Struct("Node", dict(_NODE_FIELDS))),
            "Service": Ptr(_NODE_SERVICE),
            "Checks": Slice(Ptr(_HEALTH_CHECK_STRUCT)),
        },
    ),
)

FLAT_STRUCT = Schema(
    "FlatStruct",
    Struct(
        "FlatStruct",
        {
            **{f"Int{bits or ''}": Prim("int", bits or 64) for bits in (0, 8, 16, 32, 64)},
            **{f"Uint{bits or ''}": Prim("uint", bits or 64) for bits in (0, 8, 16, 32, 64)},
            "Float32": Prim("float", 32),
            "Float64": Prim("float", 64),
            "Bool": BOOL,
            "String": STRING,
        },
    ),
)

_XY = Struct("xy", {"X": INT, "Y": INT})

NESTED_TYPES = Schema(
    "NestedTypes",
    Struct(
        "NestedTypes",
        {
            "Nested": Struct(
                "Nested",
                {
                    "Map": Map(STRING),
                    "MapOfStructs": Map(Struct("fooBaz", {"Foo": INT, "Baz": STRING})),
                    "MapInfInf": Map(Opaque(), string_keys=False),
                    "SliceOfInts": Slice(INT),
                    "SliceOfStructs": Slice(_XY),
                    "SliceOfMapInfInf": Slice(Map(Opaque(), string_keys=False)),
                    "SliceOfInfs": Slice(Opaque()),
                    "SliceOfPointersToStructs": Slice(Ptr(_XY)),
                },
            ),
            "TopInt": INT,
        },
    ),
)

MAP_OF_BOOL_MAPS = Schema("MapOfBoolMaps", Map(Map(BOOL)))

SCHEMAS: Mapping[str, Schema] = MappingProxyType(
    {
        schema.name: schema
        for schema in (
            AGENT_SERVICE,
            HEALTH_CHECK,
            NODE,
            SERVICE_NODE,
            NODE_SERVICE,
            CHECK_SERVICE_NODE,
            FLAT_STRUCT,
            NESTED_TYPES,
            MAP_OF_BOOL_MAPS,
        )
    }
)
