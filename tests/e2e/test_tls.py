"""End-to-end: the HTTP API over TLS, configured as Consul's `ports.https` and `tls { defaults { ... } }`,
with client certificates required, optional or none (Puppet's need/want/none, puppet-status.md §8). A CA,
a server certificate and client certificates (one from another CA) are made at test time."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess, Reply

# As in the other e2e modules: the agent's pipes may be collected unclosed.
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ROOT = "root"
# With TLS 1.3 a refused client may only learn it on its first read: any of these, at any step.
REFUSED = (ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)


@dataclass(frozen=True)
class PKI:
    """PEM files: the CA, the server's pair (127.0.0.1 and localhost), a client pair from the CA, and a
    client pair from another CA the agent does not trust."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_cert: Path
    rogue_key: Path


def write_pki(folder: Path) -> PKI:
    try:
        import cryptography  # noqa: F401
    except ImportError:  # pragma: no cover - the openssl CLI is the fallback
        return _pki_with_openssl(folder)
    return _pki_with_cryptography(folder)


def _pki_with_cryptography(folder: Path) -> PKI:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def issue(
        cn: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, usage: Any = None
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        signer_name, signer_key = issuer if issuer else (name(cn), key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(signer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if issuer is None:
            usages = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
            builder = builder.add_extension(usages, critical=True)
        else:
            ski = x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key())
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
            builder = builder.add_extension(aki, critical=False)
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer_key, hashes.SHA256()), key

    def write(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
        cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_path, key_path

    ca_cert, ca_key = issue("Muster Test CA", None)
    rogue_ca, rogue_ca_key = issue("Rogue CA", None)
    ca, _ = write("ca", ca_cert, ca_key)
    server = write("server", *issue("127.0.0.1", (ca_cert.subject, ca_key), ExtendedKeyUsageOID.SERVER_AUTH))
    client = write("client", *issue("client", (ca_cert.subject, ca_key), ExtendedKeyUsageOID.CLIENT_AUTH))
    rogue = write(
        "rogue", *issue("client", (rogue_ca.subject, rogue_ca_key), ExtendedKeyUsageOID.CLIENT_AUTH)
    )
    return PKI(ca, *server, *client, *rogue)


def _pki_with_openssl(folder: Path) -> PKI:  # pragma: no cover - used where cryptography is missing
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    def new_ca(stem: str) -> None:
        run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{stem}-key.pem", "-out", f"{stem}.pem", "-subj", f"/CN={stem}", "-days", "1",
        )  # fmt: skip

    def leaf(stem: str, ca: str, extensions: str) -> None:
        (folder / f"{stem}.ext").write_text(extensions)
        run(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{stem}-key.pem", "-out", f"{stem}.csr", "-subj", f"/CN={stem}",
        )  # fmt: skip
        run(
            "x509", "-req", "-in", f"{stem}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
            "-CAcreateserial", "-out", f"{stem}.pem", "-days", "1", "-extfile", f"{stem}.ext",
        )  # fmt: skip

    new_ca("ca")
    new_ca("rogue-ca")
    leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    leaf("client", "ca", "extendedKeyUsage=clientAuth\n")
    leaf("rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n")
    pem = {
        stem: (folder / f"{stem}.pem", folder / f"{stem}-key.pem") for stem in ("server", "client", "rogue")
    }
    return PKI(folder / "ca.pem", *pem["server"], *pem["client"], *pem["rogue"])


@pytest.fixture(scope="module")
def pki() -> Iterator[PKI]:
    with tempfile.TemporaryDirectory(prefix="muster-pki-") as folder:
        yield write_pki(Path(folder))


class TLSAgent(AgentProcess):
    """`muster agent` with a config file; reads the HTTP line (if any) and the HTTPS line."""

    def __init__(self, config: dict[str, Any], *args: str, http: bool = True) -> None:
        self._config_dir = tempfile.TemporaryDirectory(prefix="muster-tls-")
        path = Path(self._config_dir.name) / "tls.json"
        path.write_text(json.dumps(config))
        super().__init__("-config-file", str(path), "-drain-grace-seconds", "0", *args, dev=True)
        self.http = http
        self.https_port = 0
        self.lines: list[str] = []

    def command(self) -> list[str]:
        cmd = super().command()
        if not self.http:
            cmd[cmd.index("-http-port") + 1] = "-1"
        return cmd

    def start(self) -> TLSAgent:
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._drain_stderr, args=(self.proc,), daemon=True).start()
        assert self.proc.stdout is not None
        for _ in range(2 if self.http else 1):
            self.lines.append(self.proc.stdout.readline().decode())
        if not self.lines[-1].startswith("HTTPS API listening on https://127.0.0.1:"):
            self.proc.wait(timeout=10)
            raise RuntimeError(f"agent did not start: {self.lines!r} {''.join(self.stderr_lines)}")
        self.https_port = int(self.lines[-1].rsplit(":", 1)[1])
        if self.http:
            self.port = int(self.lines[0].rsplit(":", 1)[1])
        return self

    def close(self) -> None:
        super().close()
        self._config_dir.cleanup()

    def https(
        self,
        pki: PKI,
        path: str,
        *,
        cert: tuple[Path, Path] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        context = ssl.create_default_context(cafile=str(pki.ca))
        if cert is not None:
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=context, timeout=10)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()


def tls_config(pki: PKI, **defaults: Any) -> dict[str, Any]:
    files = {"ca_file": str(pki.ca), "cert_file": str(pki.server_cert), "key_file": str(pki.server_key)}
    return {"ports": {"https": 0}, "tls": {"defaults": {**files, **defaults}}}


@pytest.fixture
def tls_agent() -> Iterator[type[TLSAgent]]:
    made: list[TLSAgent] = []

    class Factory(TLSAgent):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    yield Factory
    for agent in made:
        agent.close()


def client(pki: PKI) -> tuple[Path, Path]:
    return pki.client_cert, pki.client_key


def rogue(pki: PKI) -> tuple[Path, Path]:
    return pki.rogue_cert, pki.rogue_key


def test_required_client_certificate_refuses_none_and_strangers(pki: PKI, tls_agent: type[TLSAgent]) -> None:
    agent = tls_agent(tls_config(pki, verify_incoming=True)).start()
    assert agent.lines[0] == f"HTTP API listening on http://127.0.0.1:{agent.port}\n"
    assert agent.lines[1] == f"HTTPS API listening on https://127.0.0.1:{agent.https_port}\n"
    assert 200 == agent.https(pki, "/v1/agent/self", cert=client(pki)).status
    with pytest.raises(REFUSED):
        agent.https(pki, "/v1/agent/self")
    with pytest.raises(REFUSED):
        agent.https(pki, "/v1/agent/self", cert=rogue(pki))
    assert 200 == agent.get("/v1/agent/self").status  # the plain listener is unchanged


def test_optional_client_certificate_admits_none_and_refuses_strangers(
    pki: PKI, tls_agent: type[TLSAgent]
) -> None:
    agent = tls_agent(tls_config(pki, client_certificates="optional")).start()
    assert 200 == agent.https(pki, "/v1/agent/services").status
    assert 200 == agent.https(pki, "/v1/agent/services", cert=client(pki)).status
    with pytest.raises(REFUSED):
        agent.https(pki, "/v1/agent/services", cert=rogue(pki))


def test_no_client_certificate_asks_for_none(pki: PKI, tls_agent: type[TLSAgent]) -> None:
    agent = tls_agent(tls_config(pki, client_certificates="none")).start()
    assert 200 == agent.https(pki, "/v1/agent/services").status
    assert 200 == agent.https(pki, "/v1/agent/services", cert=rogue(pki)).status  # never requested


def test_status_answers_without_a_token_over_tls(pki: PKI, tls_agent: type[TLSAgent]) -> None:
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": ROOT}}
    agent = tls_agent({**tls_config(pki, verify_incoming=True), "acl": acl}, http=False).start()
    assert ["HTTPS API listening on https://127.0.0.1:" + str(agent.https_port) + "\n"] == agent.lines
    simple = agent.https(pki, "/status/v1/simple", cert=client(pki))
    assert (200, "running") == (simple.status, simple.text)
    services = agent.https(pki, "/status/v1/services?level=info", cert=client(pki))
    assert (200, "running") == (services.status, services.json()["http-api"]["state"])
    assert 403 == agent.https(pki, "/v1/agent/self", cert=client(pki)).status
    token = {"X-Consul-Token": ROOT}
    assert 200 == agent.https(pki, "/v1/agent/self", cert=client(pki), headers=token).status


def test_hcl_tls_block_and_https_port_flag(pki: PKI, tmp_path: Path) -> None:
    config = tmp_path / "tls.hcl"
    files = f'cert_file = "{pki.server_cert}"\n    key_file = "{pki.server_key}"'
    config.write_text(f"tls {{\n  defaults {{\n    {files}\n  }}\n}}\n")
    agent = TLSAgent({}, "-config-file", str(config), "-https-port", "0")
    try:
        agent.start()
        assert 200 == agent.https(pki, "/v1/agent/services").status
    finally:
        agent.close()


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("cert_file", "cannot read TLS file: No such file or directory"),
        ("key_file", "cannot read TLS file: No such file or directory"),
        ("ca_file", "cannot read TLS file: No such file or directory"),
    ],
)
def test_a_missing_tls_file_stops_the_agent_naming_it(
    pki: PKI, tmp_path: Path, field: str, message: str
) -> None:
    missing = tmp_path / f"missing-{field}.pem"
    config = tmp_path / "tls.json"
    config.write_text(json.dumps(tls_config(pki, verify_incoming=True, **{field: str(missing)})))
    cmd = [sys.executable, "-m", "muster", "agent", "-dev", "-http-port", "0", "-config-file", str(config)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert (1, "") == (done.returncode, done.stdout)
    assert f"==> Error starting agent: {missing}: {message}\n" == done.stderr.splitlines(keepends=True)[-1]
