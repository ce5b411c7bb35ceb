"""Check definitions from decoded bodies (bodies.CheckBody): Consul's validation order and texts (§3.2),
its `Type` precedence, and the IDs and names it generates for service-embedded checks (§3.6)."""

from __future__ import annotations

import msgspec

from muster.bodies import CheckBody, CheckType, ServiceBody
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


def is_interval_type(check: CheckBody) -> bool:
    kinds = (check.script_args, check.http, check.tcp, check.udp, check.grpc, check.h2ping, check.os_service)
    return any(kinds)


def validation_error(check: CheckBody) -> str | None:
    """The first of Consul's check validation failures (§3.2), or None when the check is valid."""
    interval, ttl = check.interval, check.ttl
    interval_type = is_interval_type(check)
    alias = bool(check.alias_node or check.alias_service)
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
    if check.output_max_size < 0:
        return "MaxOutputMaxSize must be positive"
    if check.failures_before_warning > check.failures_before_critical:
        return "FailuresBeforeWarning can't be higher than FailuresBeforeCritical"
    return None


def check_type(check: CheckBody) -> str:
    """Consul's `Type` string, in its precedence (§3.2)."""
    has_interval = check.interval > 0
    if check.grpc and has_interval:
        return "grpc"
    if check.http and has_interval:
        return "http"
    if check.ttl > 0:
        return "ttl"
    if check.tcp and has_interval:
        return "tcp"
    if check.udp and has_interval:
        return "udp"
    if check.alias_node or check.alias_service:
        return "alias"
    if check.script_args and check.docker_container_id and has_interval:
        return "docker"
    if check.script_args:
        return "script"
    if check.h2ping and has_interval:
        return "h2ping"
    if check.os_service and has_interval:
        return "os_service"
    return ""


def validate_check(check: CheckBody, *, embedded: bool) -> None:
    """Raise Consul's 400 for an invalid check; embedded checks also have their status checked here."""
    error = validation_error(check)
    if error is not None:
        raise BadRequest(f"Invalid check: {error}")
    if embedded and check.status not in ("", *CHECK_STATUSES):
        raise BadRequest("Status for checks must 'passing', 'warning', 'critical'")


def is_empty_check(check: CheckBody) -> bool:
    """`"Check":{}` means no check: Consul skips a `Check` whose every field is zero."""
    return not any(value not in (None, "", 0, False, [], {}) for value in msgspec.structs.astuple(check))


def build_definition(
    check: CheckBody,
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
        status=check.status,
        notes=check.notes,
        type=check_type(check),
        script_args=check.script_args,
        http=check.http,
        header=check.header,
        method=check.method,
        body=check.body,
        disable_redirects=check.disable_redirects,
        tcp=check.tcp,
        tcp_use_tls=check.tcp_use_tls,
        udp=check.udp,
        grpc=check.grpc,
        grpc_use_tls=check.grpc_use_tls,
        h2ping=check.h2ping,
        h2ping_use_tls=True if check.h2ping_use_tls is None else check.h2ping_use_tls,
        os_service=check.os_service,
        alias_node=check.alias_node,
        alias_service=check.alias_service,
        docker_container_id=check.docker_container_id,
        shell=check.shell,
        tls_server_name=check.tls_server_name,
        tls_skip_verify=check.tls_skip_verify,
        interval=int(check.interval),
        timeout=int(check.timeout),
        ttl=int(check.ttl),
        success_before_passing=check.success_before_passing,
        failures_before_warning=check.failures_before_warning,
        failures_before_critical=check.failures_before_critical,
        deregister_critical_service_after=int(check.deregister_critical_service_after),
        output_max_size=check.output_max_size,
        show_zero_durations=show_zero_durations,
        token=token,
        source=source,
    )


def embedded_checks(
    service: ServiceBody,
    *,
    service_id: str,
    service_name: str,
    namespace: str,
    token: str,
    source: str,
) -> list[CheckDefinition]:
    """Validate a service's `Check` and `Checks` and give them Consul's IDs and names (§3.6)."""
    listed: list[CheckType] = []
    if service.check is not None and not is_empty_check(service.check):
        listed.append(service.check)
    listed.extend(service.checks)
    for check in listed:
        validate_check(check, embedded=True)
    definitions: dict[str, CheckDefinition] = {}
    for position, check in enumerate(listed, start=1):
        check_id = check.check_id or (
            f"service:{service_id}" if len(listed) == 1 else f"service:{service_id}:{position}"
        )
        definitions[check_id] = build_definition(
            check,
            check_id=check_id,
            name=check.name or f"Service '{service_name}' check",
            namespace=namespace,
            service_id=service_id,
            token=token,
            source=source,
            show_zero_durations=False,
        )
    return list(definitions.values())


def needs_scripts(definition: CheckDefinition) -> bool:
    return bool(definition.script_args)
