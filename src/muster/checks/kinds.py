"""Which probe runs a check definition, in the order Consul's agent picks its runner (§3.2):
TTL > HTTP > TCP > UDP > gRPC > docker > OS service > script > H2PING > alias."""

from __future__ import annotations

from muster.checks.base import CheckResult, Probe, ProbeContext
from muster.checks.definition import SCRIPTS_DISABLED_LOCAL, SCRIPTS_DISABLED_REMOTE, needs_scripts
from muster.checks.h2ping import make_h2ping_probe
from muster.checks.http import make_http_probe
from muster.checks.script import make_script_probe
from muster.checks.tcp import make_tcp_probe
from muster.checks.udp import make_udp_probe
from muster.models import CRITICAL, CheckDefinition

DOCKER_UNSUPPORTED = "Docker checks are not supported by Muster"
OS_SERVICE_UNSUPPORTED = "OSService checks are not supported by Muster"


def unsupported_probe(output: str) -> Probe:
    result = CheckResult(CRITICAL, output)

    async def probe() -> CheckResult:
        return result

    return probe


def make_probe(definition: CheckDefinition, ctx: ProbeContext) -> Probe | None:
    if needs_scripts(definition) and not ctx.scripts_allowed(definition.source):
        # Registered while scripts were allowed, then turned off: listed, critical, never executed.
        return unsupported_probe(
            SCRIPTS_DISABLED_REMOTE if definition.source == "remote" else SCRIPTS_DISABLED_LOCAL
        )
    return _make_probe(definition, ctx)


def _make_probe(definition: CheckDefinition, ctx: ProbeContext) -> Probe | None:
    """The probe for an interval check; None for TTL, alias and definitions no runner accepts."""
    interval = definition.interval > 0
    if definition.ttl > 0:
        return None  # the TTL timer is the scheduler's
    if definition.http and interval:
        return make_http_probe(definition, ctx)
    if definition.tcp and interval:
        return make_tcp_probe(definition, ctx)
    if definition.udp and interval:
        return make_udp_probe(definition, ctx)
    if definition.grpc and interval:
        from muster.checks.grpc import make_grpc_probe  # grpcio is ~17 MiB: loaded by the first gRPC check

        return make_grpc_probe(definition, ctx)
    if definition.script_args and definition.docker_container_id and interval:
        return unsupported_probe(DOCKER_UNSUPPORTED)
    if definition.os_service and interval:
        return unsupported_probe(OS_SERVICE_UNSUPPORTED)
    if definition.script_args and interval:
        return make_script_probe(definition, ctx)
    if definition.h2ping and interval:
        return make_h2ping_probe(definition, ctx)
    return None  # alias (the lead's watcher), or nothing runnable
