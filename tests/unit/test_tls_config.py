"""TLS settings (`ports.https`, `tls.defaults`, `tls.https`, client_certificates), the server context
built from them, the listener plan (HTTP first, -1 turns one off) and the drain grace setting."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import pytest

from muster import config
from muster.errors import ConfigError
from muster.http.server import plan_listeners
from muster.tls import TLSConfig, server_context
from tests.e2e.test_tls import PKI, write_pki


def load(
    tmp_path: Path, data: dict[str, Any] | str, name: str = "a.json", **flags: Any
) -> config.AgentConfig:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return config.load({"config_file": [str(path)], **flags}, environ={"HOME": str(tmp_path)})


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return write_pki(tmp_path_factory.mktemp("pki"))


def test_https_is_off_and_client_certificates_none_by_default(tmp_path: Path) -> None:
    cfg = load(tmp_path, {})
    assert (-1, TLSConfig(), 5.0) == (cfg.https_port, cfg.tls, cfg.status_drain_grace_seconds)


def test_verify_incoming_means_required(tmp_path: Path) -> None:
    tls = {
        "defaults": {"ca_file": "ca.pem", "cert_file": "c.pem", "key_file": "k.pem", "verify_incoming": True}
    }
    cfg = load(tmp_path, {"ports": {"https": 8501}, "tls": tls})
    expected = TLSConfig(
        ca_file="ca.pem", cert_file="c.pem", key_file="k.pem", client_certificates="required"
    )
    assert (8501, expected) == (cfg.https_port, cfg.tls)


@pytest.mark.parametrize("mode", ["required", "optional", "none", "Optional"])
def test_client_certificates_takes_the_three_modes(tmp_path: Path, mode: str) -> None:
    cfg = load(tmp_path, {"tls": {"defaults": {"ca_file": "ca.pem", "client_certificates": mode}}})
    assert mode.lower() == cfg.tls.client_certificates


def test_https_block_overrides_defaults_key_by_key(tmp_path: Path) -> None:
    tls = {
        "defaults": {"ca_file": "ca.pem", "cert_file": "a.pem", "key_file": "a-key.pem"},
        "https": {"cert_file": "b.pem", "client_certificates": "optional", "tls_min_version": "TLSv1_3"},
    }
    cfg = load(tmp_path, {"tls": tls})
    expected = TLSConfig("ca.pem", "", "b.pem", "a-key.pem", "optional", "TLSv1_3")
    assert expected == cfg.tls


def test_hcl_tls_blocks_and_https_address(tmp_path: Path) -> None:
    text = (
        'client_addr = "127.0.0.2"\naddresses { https = "127.0.0.3" }\nports { https = 0 }\n'
        'tls {\n  defaults {\n    cert_file = "c.pem"\n    key_file = "k.pem"\n  }\n}\n'
    )
    cfg = load(tmp_path, text, "a.hcl")
    assert (0, "127.0.0.3", "127.0.0.2") == (cfg.https_port, cfg.https_addr, cfg.client_addr)
    assert ("c.pem", "k.pem") == (cfg.tls.cert_file, cfg.tls.key_file)


def test_flags_override_https_port_and_drain_grace(tmp_path: Path) -> None:
    data = {"ports": {"https": 8501}, "status": {"drain_grace_seconds": 7}, "tls": {"defaults": {}}}
    data["tls"]["defaults"] = {"cert_file": "c.pem", "key_file": "k.pem"}
    cfg = load(tmp_path, data, https_port=0, drain_grace_seconds=0.5)
    assert (0, 0.5) == (cfg.https_port, cfg.status_drain_grace_seconds)
    assert 7.0 == load(tmp_path, data).status_drain_grace_seconds


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"tls": {"defaults": {"client_certificates": "need"}}},
            'tls: client_certificates must be "required", "optional" or "none", not "need"',
        ),
        (
            {
                "tls": {
                    "defaults": {"ca_file": "ca.pem", "verify_incoming": True, "client_certificates": "none"}
                }
            },
            'requires client certificates; client_certificates = "none" contradicts it',
        ),
        (
            {"tls": {"defaults": {"verify_incoming": True}}},
            'tls: client_certificates = "required" needs ca_file or ca_path to verify them',
        ),
        (
            {"tls": {"defaults": {"tls_min_version": "TLSv1_1"}}},
            'tls: tls_min_version must be "TLSv1_2" or "TLSv1_3", not "TLSv1_1"',
        ),
        (
            {"ports": {"https": 0}, "tls": {"defaults": {"cert_file": "c.pem"}}},
            "ports.https is set but no key_file is (set them in tls.defaults or tls.https)",
        ),
        ({"tls": {"defaults": {"cert": "c.pem"}}}, 'unknown configuration key "tls.defaults.cert"'),
        ({"tls": {"defaults": "c.pem"}}, '"tls.defaults" must be an object'),
        (
            {"tls": {"defaults": {"verify_incoming": "yes"}}},
            '"tls.defaults.verify_incoming" must be a boolean',
        ),
    ],
)
def test_contradictory_or_malformed_tls_settings_are_refused(
    tmp_path: Path, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, data)
    assert str(caught.value).endswith(message)


def test_server_context_requires_tls_1_2_and_the_client_mode(pki: PKI) -> None:
    for mode, verify in (
        ("required", ssl.CERT_REQUIRED),
        ("optional", ssl.CERT_OPTIONAL),
        ("none", ssl.CERT_NONE),
    ):
        tls = TLSConfig(str(pki.ca), "", str(pki.server_cert), str(pki.server_key), mode)
        context = server_context(tls)
        assert (ssl.TLSVersion.TLSv1_2, verify) == (context.minimum_version, context.verify_mode)


def test_server_context_loads_a_ca_directory(pki: PKI, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(pki.ca.read_bytes())
    tls = TLSConfig("", str(tmp_path), str(pki.server_cert), str(pki.server_key), "required")
    assert 1 == server_context(tls).cert_store_stats()["x509_ca"]


def test_server_context_names_the_file_at_fault(pki: PKI, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    missing = tmp_path / "missing.pem"
    cases = {
        f"{missing}: cannot read TLS file: No such file or directory": TLSConfig(cert_file=str(missing)),
        f"{garbage}, {pki.server_key}: cannot load the TLS certificate and key": TLSConfig(
            cert_file=str(garbage), key_file=str(pki.server_key)
        ),
        f"{garbage}: cannot load the TLS CA certificate": TLSConfig(
            ca_file=str(garbage), cert_file=str(pki.server_cert), key_file=str(pki.server_key)
        ),
        f"{tmp_path / 'nope'}: cannot read the TLS CA directory: not a directory": TLSConfig(
            ca_path=str(tmp_path / "nope"), cert_file=str(pki.server_cert), key_file=str(pki.server_key)
        ),
    }
    for message, tls in cases.items():
        with pytest.raises(ConfigError) as caught:
            server_context(tls)
        assert str(caught.value).startswith(message), str(caught.value)


def test_listeners_are_http_then_https_and_minus_one_turns_one_off(pki: PKI) -> None:
    tls = TLSConfig(cert_file=str(pki.server_cert), key_file=str(pki.server_key))
    both = config.AgentConfig("n", http_port=0, https_port=0, https_addr="127.0.0.9", tls=tls)
    assert [("HTTP", "127.0.0.1", False), ("HTTPS", "127.0.0.9", True)] == [
        (listener.name, listener.host, listener.ssl_context is not None) for listener in plan_listeners(both)
    ]
    https_only = config.AgentConfig("n", http_port=-1, https_port=0, tls=tls)
    assert ["HTTPS"] == [listener.name for listener in plan_listeners(https_only)]
    with pytest.raises(ConfigError) as caught:
        plan_listeners(config.AgentConfig("n", http_port=-1))
    assert "no HTTP API listener: ports.http and ports.https are both -1" == str(caught.value)
