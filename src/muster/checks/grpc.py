"""gRPC checks (Consul's CheckGRPC): the standard grpc.health.v1 Health/Check on `host:port[/service]`
through grpc.aio; SERVING is passing. Like Consul, each run dials its own channel and closes it."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import Iterator
from typing import Any

import grpc  # type: ignore[import-untyped]
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

from muster.checks.base import CheckResult, Probe, ProbeContext, timeout_seconds
from muster.checks.tcp import GoError, dial_tcp, split_host_port, system_roots_pem, tls_context
from muster.golang import quote
from muster.models import CRITICAL, PASSING, CheckDefinition

UNAVAILABLE = "rpc error: code = Unavailable"
_GO_CODE_NAMES = {"CANCELLED": "Canceled", "OK": "OK"}
_SAN_OID = bytes.fromhex("0603551d11")  # 2.5.29.17 subjectAltName
_CN_OID = bytes.fromhex("0603550403")  # 2.5.4.3 commonName


def status_error_text(error: Any) -> str:
    """grpc-go's status error: `rpc error: code = Unavailable desc = ...`."""
    name = error.code().name
    code = _GO_CODE_NAMES.get(name) or "".join(part.capitalize() for part in name.split("_"))
    desc = "context deadline exceeded" if name == "DEADLINE_EXCEEDED" else error.details() or ""
    return f"rpc error: code = {code} desc = {desc}"


def _der_elements(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(tag, content start, content end) of each DER element in data[start:end]."""
    while start + 2 <= end:
        tag, length = data[start], data[start + 1]
        start += 2
        if length & 0x80:
            size = length & 0x7F
            length = int.from_bytes(data[start : start + size], "big")
            start += size
        yield tag, start, start + length
        start += length


def certificate_names(der: bytes) -> list[str]:
    """The DNS and IP subjectAltNames of a certificate, else its subject CN (no parser dependency)."""
    _, cert_start, cert_end = next(_der_elements(der, 0, len(der)))
    _, tbs_start, tbs_end = next(_der_elements(der, cert_start, cert_end))
    fields = list(_der_elements(der, tbs_start, tbs_end))
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    names: list[str] = []
    for tag, start, end in fields:
        if tag != 0xA3:  # [3] extensions
            continue
        for _, ext_start, ext_end in _der_elements(der, *next(_der_elements(der, start, end))[1:]):
            parts = list(_der_elements(der, ext_start, ext_end))
            if der[parts[0][1] - 2 : parts[0][2]] != _SAN_OID:
                continue
            _, value_start, value_end = parts[-1]  # OCTET STRING wrapping GeneralNames
            for _, seq_start, seq_end in _der_elements(der, value_start, value_end):
                for name_tag, n_start, n_end in _der_elements(der, seq_start, seq_end):
                    if name_tag == 0x82:  # dNSName
                        names.append(der[n_start:n_end].decode("ascii", "replace"))
                    elif name_tag == 0x87:  # iPAddress
                        names.append(str(ipaddress.ip_address(der[n_start:n_end])))
    if names:
        return names
    subject = fields[4] if len(fields) > 4 else None  # serial, signature, issuer, validity, subject
    if subject is not None:
        for _, set_start, set_end in _der_elements(der, subject[1], subject[2]):
            for _, atv_start, atv_end in _der_elements(der, set_start, set_end):
                oid, value = list(_der_elements(der, atv_start, atv_end))[:2]
                if der[oid[1] - 2 : oid[2]] == _CN_OID:
                    names.append(der[value[1] : value[2]].decode("utf-8", "replace"))
    return names


async def _pinned_credentials(server: str, server_name: str, deadline: float) -> tuple[Any, str]:
    """TLSSkipVerify: grpcio cannot skip verification (grpc/grpc#15461), so trust the certificate
    the server presents right now, and check the name against one the certificate holds."""
    _, writer = await dial_tcp(server, deadline, tls_context(True, ("h2",)), server_name)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.transport.abort()
    names = [name.replace("*", "muster-check", 1) for name in certificate_names(der)]
    name = server_name if server_name in names else (names[0] if names else server_name)
    return grpc.ssl_channel_credentials(root_certificates=ssl.DER_cert_to_PEM_cert(der).encode()), name


def make_grpc_probe(definition: CheckDefinition, ctx: ProbeContext) -> Probe:
    target = definition.grpc
    server, _, service = target.partition("/")
    timeout = timeout_seconds(definition)

    async def channel(deadline: float) -> Any:
        if not definition.grpc_use_tls:
            return grpc.aio.insecure_channel(server)
        options: list[tuple[str, str]] = []
        if definition.tls_skip_verify:
            credentials, name = await _pinned_credentials(server, definition.tls_server_name, deadline)
        else:
            # Python's roots rather than grpcio's bundled set, so both TLS stacks trust alike.
            roots = await asyncio.to_thread(system_roots_pem)
            credentials = grpc.ssl_channel_credentials(root_certificates=roots)
            name = definition.tls_server_name
        if name:
            options.append(("grpc.ssl_target_name_override", name))
        return grpc.aio.secure_channel(server, credentials, options=options)

    async def run() -> CheckResult:
        deadline = asyncio.get_running_loop().time() + timeout
        split_host_port(server, "tcp")  # Go's resolver rejects the same malformed addresses
        chan = await channel(deadline)
        try:
            stub = health_pb2_grpc.HealthStub(chan)
            remaining = max(deadline - asyncio.get_running_loop().time(), 0.001)
            response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=remaining)
        finally:
            await chan.close()
        if response.status != health_pb2.HealthCheckResponse.SERVING:
            name = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
            return CheckResult(CRITICAL, f"gRPC {target} serving status: {name}")
        return CheckResult(PASSING, f"gRPC check {target}: success")

    async def probe() -> CheckResult:
        try:
            return await run()
        except grpc.aio.AioRpcError as exc:
            return CheckResult(CRITICAL, status_error_text(exc))
        except GoError as exc:  # from pinning a certificate: grpc-go's wording for a failed dial
            desc = quote(f"transport: Error while dialing: {exc}")
            return CheckResult(CRITICAL, f"{UNAVAILABLE} desc = connection error: desc = {desc}")
        except TimeoutError:
            return CheckResult(CRITICAL, "context deadline exceeded")
        except Exception as exc:  # noqa: BLE001 - a probe reports every failure as a status
            return CheckResult(CRITICAL, f"gRPC check {target}: {exc!r}")

    return probe
