"""A decoded service definition turned into a stored Service and its checks, with Consul's validation
order and texts (§2.4), its defaults (ID, Weights, tagged addresses) and sidecar expansion (§3.9)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

import msgspec

from muster.bodies import CheckDefinitionBody, CheckType, ServiceBody, ServiceConnect, Weights
from muster.bodytypes import Duration
from muster.checks.definition import build_definition, embedded_checks, is_empty_check
from muster.errors import BadRequest, NotFound
from muster.golang import quote
from muster.models import (
    NODE_MAINTENANCE_ID,
    SERVICE_MAINTENANCE_PREFIX,
    CheckDefinition,
    Service,
    ServiceAddress,
)

_META_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ANY_ADDRESSES = frozenset({"0.0.0.0", "::", "[::]"})
SIDECAR_PORT_RANGE = range(21000, 21256)
MAX_PORT = 65535
_UNREACHABLE_ID = 'a URL path cannot carry it (no leading "/", no "//", no "." or ".." between slashes)'


def unknown_service(service_id: str) -> NotFound:
    return NotFound(
        f"Unknown service ID {quote(service_id)}. Ensure that the service ID is passed, not the service name."
    )


@dataclass
class ServiceRegistration:
    """What one register call adds: a service, its checks, and maybe its sidecar."""

    service: Service
    checks: list[CheckDefinition]
    sidecar: ServiceRegistration | None = None
    sidecar_definition: ServiceBody | None = None  # Connect.SidecarService as given ({}: defaults)


def _multierror(messages: list[str]) -> str:
    head = "1 error occurred:" if len(messages) == 1 else f"{len(messages)} errors occurred:"
    return head + "\n" + "".join(f"\t* {message}\n" for message in messages) + "\n"


def _meta_pair_error(key: str, value: str, kind: str) -> str | None:
    if key == "":
        return "Key cannot be blank"
    if not _META_KEY.match(key):
        return "Key contains invalid characters"
    if len(key.encode()) > 128:
        return "Key is too long (limit: 128 characters)"
    if key.startswith("consul-") and not (kind == "mesh-gateway" and key == "consul-wan-federation"):
        return "Key prefix 'consul-' is reserved for internal use"
    if len(value.encode()) > 512:
        return "Value is too long (limit: 512 characters)"
    return None


def validate_meta(meta: dict[str, str], kind: str) -> None:
    if len(meta) > 64:
        raise BadRequest("Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs")
    for key in sorted(meta):
        error = _meta_pair_error(key, meta[key], kind)
        if error is not None:
            raise BadRequest(
                f"Invalid Service Meta: Couldn't load metadata pair ('{key}', '{meta[key]}'): {error}"
            )


def addressable(identifier: str) -> bool:
    """Whether `/v1/agent/.../<ID>` reaches this ID: Go's ServeMux (and Muster's router) clean the
    decoded path and redirect, so an empty, "." or ".." segment can never be addressed (a trailing
    "/" survives cleaning)."""
    *inner, last = identifier.split("/")
    return all(segment not in ("", ".", "..") for segment in inner) and last not in (".", "..")


def check_addressable(kind: str, identifier: str) -> None:
    """Refuse an ID no URL can reach (Consul accepts it, then can never read or deregister it)."""
    if not addressable(identifier):
        raise BadRequest(f"Invalid {kind} ID {quote(identifier)}: {_UNREACHABLE_ID}")


# Every check of a service carries its tags in health answers: tags x checks is what one registration
# can make the agent encode on each read (50,000 tags on 1,000 checks made a 584 KB body cost 1.35 GiB).
MAX_TAGS_BY_CHECKS = 100_000


def check_tags_by_checks(tags: int, checks: int) -> None:
    if tags * checks > MAX_TAGS_BY_CHECKS:
        raise BadRequest(
            f"Invalid registration: {tags} tags on each of {checks} checks would repeat {tags * checks} "
            f"tags in every health answer (the limit is {MAX_TAGS_BY_CHECKS})"
        )


def check_check_id(check_id: str) -> None:
    """A check ID a client may register: addressable, and not one the agent keeps for maintenance mode
    (a check squatting `_service_maintenance:<id>` or `_node_maintenance` made enabling it a no-op)."""
    check_addressable("check", check_id)
    if check_id == NODE_MAINTENANCE_ID or check_id.startswith(SERVICE_MAINTENANCE_PREFIX):
        raise BadRequest(f"Invalid check ID {quote(check_id)}: reserved for maintenance mode")


def _port_fields(body: ServiceBody, prefix: str = "") -> list[tuple[str, Any]]:
    """Every port of a service definition, named as the request spells the field."""
    found: list[tuple[str, Any]] = [(f"{prefix}Port", body.port)]
    for key, address in sorted(body.tagged_addresses.items()):
        found.append((f"{prefix}TaggedAddresses.{key}.Port", address.port))
    proxy = body.proxy or {}
    found.append((f"{prefix}Proxy.LocalServicePort", proxy.get("LocalServicePort")))
    transparent = proxy.get("TransparentProxy") or {}
    found.append(
        (f"{prefix}Proxy.TransparentProxy.OutboundListenerPort", transparent.get("OutboundListenerPort"))
    )
    for index, upstream in enumerate(proxy.get("Upstreams") or []):
        found.append((f"{prefix}Proxy.Upstreams[{index}].LocalBindPort", upstream.get("LocalBindPort")))
    for index, path in enumerate((proxy.get("Expose") or {}).get("Paths") or []):
        for key in ("ListenerPort", "LocalPathPort"):
            found.append((f"{prefix}Proxy.Expose.Paths[{index}].{key}", path.get(key)))
    sidecar = (body.connect or ServiceConnect()).sidecar_service
    if sidecar is not None and not prefix:
        found += _port_fields(sidecar, "Connect.SidecarService.")
    return found


def validate_ports(body: ServiceBody) -> None:
    """Muster's difference 11: a port above 65535 is a 400 (Consul stores any int and DNS wraps it).
    Negative ports stay accepted, as Consul's own tests register them."""
    for name, port in _port_fields(body):
        if isinstance(port, int) and port > MAX_PORT:
            raise BadRequest(f"Invalid {name}: {port} is not a port (the largest is {MAX_PORT})")


def validate_weights(weights: Weights) -> None:
    passing, warning = weights.passing, weights.warning
    if passing < 1:
        raise BadRequest("Invalid Weights: Passing must be greater than 0")
    if warning < 0:
        raise BadRequest("Invalid Weights: Warning must be greater or equal than 0")
    if passing > 65535 or warning > 65535:
        raise BadRequest("Invalid Weights: DNS Weight must be between 0 and 65535")


def _service_errors(body: ServiceBody) -> list[str]:
    errors: list[str] = []
    locality = body.locality or {}
    if locality.get("Zone") and not locality.get("Region"):
        errors.append("zone cannot be set without region")
    kind = body.kind
    proxy = body.proxy or {}
    connect = body.connect or ServiceConnect()
    port, socket_path = body.port, body.socket_path
    if kind == "connect-proxy":
        # NodeService.Validate checks the port first, then ValidateForAgent the rest.
        if port == 0 and socket_path == "":
            errors.append("Port or SocketPath must be set for a connect-proxy")
        destination = proxy.get("DestinationServiceName", "")
        if destination.strip() == "":
            errors.append("Proxy.DestinationServiceName must be non-empty for Connect proxy services")
        elif destination == "*":
            errors.append("Proxy.DestinationServiceName must not be a wildcard for Connect proxy services")
        if connect.native:
            errors.append("A Proxy cannot also be Connect Native, only typical services")
    elif kind == "mesh-gateway" and port == 0:
        errors.append("Port must be non-zero for a mesh-gateway")
    sidecar = connect.sidecar_service
    if sidecar is not None:
        if sidecar.id:
            errors.append("A SidecarService cannot specify an ID as this is managed by the agent")
        if (sidecar.connect or ServiceConnect()).sidecar_service is not None:
            errors.append("A SidecarService cannot have a nested SidecarService")
    if connect.native and kind == "" and port == 0 and socket_path == "":
        errors.append("Port or SocketPath must be set for a Connect native service.")
    return errors


def default_tagged_addresses(address: str, port: int, given: dict[str, ServiceAddress]) -> None:
    """Add lan/wan tagged addresses for an IP `Address`, only for keys not given (§2.4)."""
    try:
        ip = ipaddress.ip_address(address) if "%" not in address else None
    except ValueError:
        ip = None
    if ip is None:
        return
    if ip.version == 4 or (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None):
        keys = ("lan_ipv4", "wan_ipv4")
    else:
        keys = ("lan_ipv6", "wan_ipv6")
    for key in keys:
        given.setdefault(key, ServiceAddress(address, port))


def _ip_version(address: str) -> int | None:
    if "%" in address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return 4
    return ip.version


def validate_tagged_addresses(tagged: dict[str, ServiceAddress]) -> None:
    """Consul checks lan_ipv4, wan_ipv4 and (twice, an upstream slip) lan_ipv6; wan_ipv6 goes unchecked."""
    for key, version in (("lan_ipv4", 4), ("wan_ipv4", 4), ("lan_ipv6", 6)):
        if key in tagged and _ip_version(tagged[key].address) != version:
            raise BadRequest(f'Service tagged address "{key}" must be a valid ipv{version} address')


def check_name_and_address(body: ServiceBody) -> None:
    """Steps 3-4 of §2.4, which come before the token is resolved."""
    if not body.name:
        raise BadRequest("Missing service name")
    if (body.address or "") in _ANY_ADDRESSES:
        raise BadRequest("Invalid service address")


def validate_service_fields(body: ServiceBody) -> None:
    """Steps 3-9 of §2.4 in Consul's order; the first failure wins."""
    check_name_and_address(body)
    check_addressable("service", body.id or body.name)
    validate_ports(body)
    if body.weights is not None:
        validate_weights(body.weights)
    validate_meta(body.meta, body.kind)
    errors = _service_errors(body)
    if errors:
        raise BadRequest(f"Validation failed: {_multierror(errors)}")


def build_service(body: ServiceBody, *, namespace: str, token: str, source: str) -> Service:
    tagged = {key: ServiceAddress(value.address, value.port) for key, value in body.tagged_addresses.items()}
    address = body.address or ""
    default_tagged_addresses(address, body.port, tagged)
    weights = body.weights
    return Service(
        id=body.id or body.name,
        name=body.name,
        kind=body.kind,
        tags=body.tags,
        meta=body.meta,
        port=body.port,
        address=address,
        socket_path=body.socket_path,
        tagged_addresses=tagged,
        weights_passing=1 if weights is None else weights.passing,
        weights_warning=1 if weights is None else weights.warning,
        enable_tag_override=body.enable_tag_override,
        proxy=body.proxy,
        connect_native=body.connect is not None and body.connect.native,
        locality=body.locality,
        namespace=namespace,
        token=token,
        source=source,
    )


def build_registration(body: ServiceBody, *, namespace: str, token: str, source: str) -> ServiceRegistration:
    """Validate and build; raises BadRequest with Consul's text. Sidecar ports are assigned later."""
    validate_service_fields(body)
    service = build_service(body, namespace=namespace, token=token, source=source)
    checks = embedded_checks(
        body,
        service_id=service.id,
        service_name=service.name,
        namespace=namespace,
        token=token,
        source=source,
    )
    for check in checks:
        check_check_id(check.check_id)
    registration = ServiceRegistration(service, checks)
    if body.connect is not None:
        registration.sidecar_definition = body.connect.sidecar_service
    return registration


def build_sidecar(
    parent: Service, sidecar: ServiceBody, used_ports: set[int], token: str
) -> ServiceRegistration:
    """Expand `Connect.SidecarService` the way Consul's agent does (§3.9)."""
    sidecar_token = sidecar.token or token
    port = sidecar.port
    if not port and not sidecar.socket_path:
        free = next((port for port in SIDECAR_PORT_RANGE if port not in used_ports), None)
        if free is None:
            raise BadRequest("Invalid SidecarService: No sidecar ports available in range 21000 - 21255")
        port = free
    # only what the sidecar's Proxy leaves out is filled in: a "" or 0 it gives is kept
    proxy = dict(sidecar.proxy or {})
    proxy.setdefault("DestinationServiceName", parent.name)
    proxy.setdefault("DestinationServiceID", parent.id)
    proxy.setdefault("LocalServiceAddress", "127.0.0.1")
    proxy.setdefault("LocalServicePort", parent.port)
    merged = msgspec.structs.replace(
        sidecar,
        name=sidecar.name or f"{parent.name}-sidecar-proxy",
        id=f"{parent.id}-sidecar-proxy",
        kind="connect-proxy",
        address=parent.address if sidecar.address is None else sidecar.address,
        tags=sidecar.tags or list(parent.tags),
        meta=sidecar.meta or dict(parent.meta),
        port=port,
        proxy=proxy,
    )
    try:
        validate_service_fields(merged)
    except BadRequest as exc:
        raise BadRequest(f"Failed Validation: {exc.text}") from None
    service = build_service(merged, namespace=parent.namespace, token=sidecar_token, source=parent.source)
    service.sidecar_of = parent.id
    if (merged.check is None or is_empty_check(merged.check)) and not merged.checks:
        address = service.address or "127.0.0.1"
        defaults = [
            CheckType(
                name="Connect Sidecar Listening",
                tcp=f"{address}:{service.port}",
                interval=Duration(10_000_000_000),
            ),
            CheckType(name=f"Connect Sidecar Aliasing {parent.id}", alias_service=parent.id),
        ]
        merged = msgspec.structs.replace(merged, checks=defaults)
    try:
        checks = embedded_checks(
            merged,
            service_id=service.id,
            service_name=service.name,
            namespace=parent.namespace,
            token=sidecar_token,
            source=parent.source,
        )
    except BadRequest as exc:
        raise BadRequest(
            exc.text.replace("Invalid check: ", "Invalid check in sidecar_service: ", 1)
        ) from None
    for check in checks:
        check_check_id(check.check_id)
    return ServiceRegistration(service, checks)


def definition_for_register(
    body: CheckDefinitionBody, *, namespace: str, token: str, source: str
) -> CheckDefinition:
    """A /check/register body as a CheckDefinition: ID defaults to Name, durations shown as "0s"."""
    check_id = body.check_id or body.name
    check_check_id(check_id)
    return build_definition(
        body,
        check_id=check_id,
        name=body.name,
        namespace=namespace,
        service_id=body.service_id,
        token=body.token or token,
        source=source,
        show_zero_durations=True,
    )
