"""Check definitions from decoded bodies: Consul's validation order and texts (§3.2), its `Type`
precedence, and the IDs and names it generates for service-embedded checks (§3.6)."""

from __future__ import annotations

from typing import Any

from muster.errors import BadRequest
from muster.models import CHECK_STATUSES, CheckDefinition

SCRIPTS_DISABLED_REMOTE = (
    "Scripts are disabled on this agent from remote calls; "
    "to enable, configure 'enable_script_checks' to true"
)
SCRIPTS_DISABLED_LOCAL = (
    "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or "
    "'enable_local_script_checks' to true"
)


def is_interval_type(fields: dict[str, Any]) -> bool:
    return any(fields.get(key) for key in ("ScriptArgs", "HTTP", "TCP", "UDP", "GRPC", "H2PING", "OSService"))


def validation_error(fields: dict[str, Any]) -> str | None:
    """The first of Consul's check validation failures (§3.2), or None when the check is valid."""
    interval = fields.get("Interval", 0)
    ttl = fields.get("TTL", 0)
    interval_type = is_interval_type(fields)
    alias = bool(fields.get("AliasNode") or fields.get("AliasService"))
    if interval > 0 and ttl > 0:
        return "Interval and TTL cannot both be specified"
    if interval_type and interval <= 0:
        return "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"
    if interval_type and alias:
        return "Interval cannot be set for Alias checks"
    if alias and ttl > 0:
        return "TTL must be not be set for Alias checks"
    if not interval_type and not alias and ttl <= 0:
        return "TTL must be > 0 for TTL checks"
    if fields.get("OutputMaxSize", 0) < 0:
        return "MaxOutputMaxSize must be positive"
    if fields.get("FailuresBeforeWarning", 0) > fields.get("FailuresBeforeCritical", 0):
        return "FailuresBeforeWarning can't be higher than FailuresBeforeCritical"
    return None


def check_type(fields: dict[str, Any]) -> str:
    """Consul's `Type` string, in its precedence (§3.2)."""
    has_interval = fields.get("Interval", 0) > 0
    if fields.get("GRPC") and has_interval:
        return "grpc"
    if fields.get("HTTP") and has_interval:
        return "http"
    if fields.get("TTL", 0) > 0:
        return "ttl"
    if fields.get("TCP") and has_interval:
        return "tcp"
    if fields.get("UDP") and has_interval:
        return "udp"
    if fields.get("AliasNode") or fields.get("AliasService"):
        return "alias"
    if fields.get("ScriptArgs") and fields.get("DockerContainerID") and has_interval:
        return "docker"
    if fields.get("ScriptArgs"):
        return "script"
    if fields.get("H2PING") and has_interval:
        return "h2ping"
    if fields.get("OSService") and has_interval:
        return "os_service"
    return ""


def validate_check(fields: dict[str, Any], *, embedded: bool) -> None:
    """Raise Consul's 400 for an invalid check; embedded checks also have their status checked here."""
    error = validation_error(fields)
    if error is not None:
        raise BadRequest(f"Invalid check: {error}")
    if embedded and fields.get("Status", "") not in ("", *CHECK_STATUSES):
        raise BadRequest("Status for checks must 'passing', 'warning', 'critical'")


def is_empty_check(fields: dict[str, Any]) -> bool:
    """`"Check":{}` means no check: Consul skips a `Check` whose every field is zero."""
    return not any(value not in (None, "", 0, False, [], {}) for value in fields.values())


def build_definition(
    fields: dict[str, Any],
    *,
    check_id: str,
    name: str,
    namespace: str,
    service_id: str,
    token: str,
    source: str,
    show_zero_durations: bool,
) -> CheckDefinition:
    return CheckDefinition(
        check_id=check_id,
        name=name,
        namespace=namespace,
        service_id=service_id,
        status=fields.get("Status", ""),
        notes=fields.get("Notes", ""),
        type=check_type(fields),
        script_args=fields.get("ScriptArgs", []),
        http=fields.get("HTTP", ""),
        header=fields.get("Header", {}),
        method=fields.get("Method", ""),
        body=fields.get("Body", ""),
        disable_redirects=fields.get("DisableRedirects", False),
        tcp=fields.get("TCP", ""),
        tcp_use_tls=fields.get("TCPUseTLS", False),
        udp=fields.get("UDP", ""),
        grpc=fields.get("GRPC", ""),
        grpc_use_tls=fields.get("GRPCUseTLS", False),
        h2ping=fields.get("H2PING", ""),
        h2ping_use_tls=fields.get("H2PingUseTLS", True),
        os_service=fields.get("OSService", ""),
        alias_node=fields.get("AliasNode", ""),
        alias_service=fields.get("AliasService", ""),
        docker_container_id=fields.get("DockerContainerID", ""),
        shell=fields.get("Shell", ""),
        tls_server_name=fields.get("TLSServerName", ""),
        tls_skip_verify=fields.get("TLSSkipVerify", False),
        interval=fields.get("Interval", 0),
        timeout=fields.get("Timeout", 0),
        ttl=fields.get("TTL", 0),
        success_before_passing=fields.get("SuccessBeforePassing", 0),
        failures_before_warning=fields.get("FailuresBeforeWarning", 0),
        failures_before_critical=fields.get("FailuresBeforeCritical", 0),
        deregister_critical_service_after=fields.get("DeregisterCriticalServiceAfter", 0),
        output_max_size=fields.get("OutputMaxSize", 0),
        show_zero_durations=show_zero_durations,
        token=token,
        source=source,
    )


def embedded_checks(
    service_fields: dict[str, Any],
    *,
    service_id: str,
    service_name: str,
    namespace: str,
    token: str,
    source: str,
) -> list[CheckDefinition]:
    """Validate a service's `Check` and `Checks` and give them Consul's IDs and names (§3.6)."""
    listed: list[dict[str, Any]] = []
    single = service_fields.get("Check")
    if single and not is_empty_check(single):
        listed.append(single)
    listed.extend(service_fields.get("Checks", []))
    for fields in listed:
        validate_check(fields, embedded=True)
    definitions: dict[str, CheckDefinition] = {}
    for position, fields in enumerate(listed, start=1):
        check_id = fields.get("CheckID") or (
            f"service:{service_id}" if len(listed) == 1 else f"service:{service_id}:{position}"
        )
        definitions[check_id] = build_definition(
            fields,
            check_id=check_id,
            name=fields.get("Name") or f"Service '{service_name}' check",
            namespace=namespace,
            service_id=service_id,
            token=token,
            source=source,
            show_zero_durations=False,
        )
    return list(definitions.values())


def needs_scripts(definition: CheckDefinition) -> bool:
    return bool(definition.script_args)
