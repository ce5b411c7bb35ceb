"""Wire shapes of the catalog and health endpoints: Node, ServiceNode, NodeService, HealthCheck and
CheckServiceNode, keys in Consul's order."""

from __future__ import annotations

from typing import Any

from muster.catalog import Instance, NodeRecord
from muster.models import DEFAULT_NAMESPACE, PROXY_KINDS, Check, Service, agent_check, render_proxy

_EMPTY_PROXY = {"Mode": "", "MeshGateway": {}, "Expose": {}}


def node(record: NodeRecord, index: int) -> dict[str, Any]:
    """`index` is the read's: it stands in for an entry index the catalog does not keep (0)."""
    address = record.address
    return {
        "ID": record.node_id,
        "Node": record.name,
        "Address": address,
        "Datacenter": record.datacenter,
        "TaggedAddresses": {"lan": address, "lan_ipv4": address, "wan": address, "wan_ipv4": address},
        "Meta": {key: record.meta[key] for key in sorted(record.meta)},
        "CreateIndex": record.create_index or index,
        "ModifyIndex": record.modify_index or index,
    }


def _tagged(service: Service) -> dict[str, Any]:
    return {k: {"Address": v.address, "Port": v.port} for k, v in sorted(service.tagged_addresses.items())}


def _proxy(service: Service) -> dict[str, Any]:
    return render_proxy(service.proxy or {}) if service.kind in PROXY_KINDS else dict(_EMPTY_PROXY)


def node_service(service: Service, create_index: int, modify_index: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if service.kind:
        out["Kind"] = service.kind
    out["ID"] = service.id
    out["Service"] = service.name
    out["Tags"] = service.tags
    out["Address"] = service.address
    if service.tagged_addresses:
        out["TaggedAddresses"] = _tagged(service)
    out["Meta"] = {key: service.meta[key] for key in sorted(service.meta)}
    out["Port"] = service.port
    if service.socket_path:
        out["SocketPath"] = service.socket_path
    out["Weights"] = {"Passing": service.weights_passing or 1, "Warning": service.weights_warning}
    out["EnableTagOverride"] = service.enable_tag_override
    out["Proxy"] = _proxy(service)
    out["Connect"] = {"Native": True} if service.connect_native else {}
    out["PeerName"] = ""
    if service.namespace != DEFAULT_NAMESPACE:
        out["Namespace"] = service.namespace
    out["CreateIndex"] = create_index
    out["ModifyIndex"] = modify_index
    return out


def service_node(instance: Instance, index: int) -> dict[str, Any]:
    service = instance.service
    out = node(instance.node, index)
    del out["CreateIndex"], out["ModifyIndex"]
    out["NodeMeta"] = out.pop("Meta")
    out["ServiceKind"] = service.kind
    out["ServiceID"] = service.id
    out["ServiceName"] = service.name
    out["ServiceTags"] = service.tags
    out["ServiceAddress"] = service.address
    if service.tagged_addresses:
        out["ServiceTaggedAddresses"] = _tagged(service)
    out["ServiceWeights"] = {"Passing": service.weights_passing or 1, "Warning": service.weights_warning}
    out["ServiceMeta"] = {key: service.meta[key] for key in sorted(service.meta)}
    out["ServicePort"] = service.port
    out["ServiceSocketPath"] = service.socket_path
    out["ServiceEnableTagOverride"] = service.enable_tag_override
    out["ServiceProxy"] = _proxy(service)
    out["ServiceConnect"] = {"Native": True} if service.connect_native else {}
    if service.namespace != DEFAULT_NAMESPACE:
        out["Namespace"] = service.namespace
    out["CreateIndex"] = instance.create_index or index
    out["ModifyIndex"] = instance.modify_index or index
    return out


def health_check(check: Check, node_name: str, index: int) -> dict[str, Any]:
    out = agent_check(check, node_name)
    out["CreateIndex"] = check.create_index or index
    out["ModifyIndex"] = check.modify_index or index
    return out


def check_service_node(instance: Instance, index: int) -> dict[str, Any]:
    name = instance.node.name
    service = node_service(instance.service, instance.create_index or index, instance.modify_index or index)
    return {
        "Node": node(instance.node, index),
        "Service": service,
        "Checks": [health_check(check, name, index) for check in instance.checks],
    }
