"""TLS for the HTTP API, configured as Consul's `tls { defaults { ... } https { ... } }` blocks, with
client certificates `required`, `optional` or `none` (Puppet's `need`, `want`, `none`; spec §8)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muster.errors import ConfigError

REQUIRED, OPTIONAL, NONE = "required", "optional", "none"
CLIENT_CERTIFICATES = {REQUIRED: ssl.CERT_REQUIRED, OPTIONAL: ssl.CERT_OPTIONAL, NONE: ssl.CERT_NONE}
MIN_VERSIONS = {"TLSv1_2": ssl.TLSVersion.TLSv1_2, "TLSv1_3": ssl.TLSVersion.TLSv1_3}


@dataclass(frozen=True)
class TLSConfig:
    """What the HTTPS listener needs; resolved from `tls.defaults` and `tls.https`."""

    ca_file: str = ""
    ca_path: str = ""
    cert_file: str = ""
    key_file: str = ""
    client_certificates: str = NONE
    min_version: str = "TLSv1_2"

    @property
    def has_ca(self) -> bool:
        return bool(self.ca_file or self.ca_path)


def tls_config(section: dict[str, Any]) -> TLSConfig:
    """Resolve the merged `tls` section. `verify_incoming = true` means `required`; saying it and
    another `client_certificates` is a contradiction, and verifying clients needs a CA."""
    defaults: dict[str, Any] = section.get("defaults", {})
    https: dict[str, Any] = section.get("https", {})

    def pick(key: str, default: Any) -> Any:
        return https.get(key, defaults.get(key, default))

    verify_incoming = bool(pick("verify_incoming", False))
    mode = str(pick("client_certificates", "")).lower()
    if mode and mode not in CLIENT_CERTIFICATES:
        raise ConfigError(f'tls: client_certificates must be "required", "optional" or "none", not "{mode}"')
    if verify_incoming and mode not in ("", REQUIRED):
        raise ConfigError(
            f'tls: verify_incoming = true requires client certificates; client_certificates = "{mode}" '
            "contradicts it"
        )
    mode = mode or (REQUIRED if verify_incoming else NONE)
    min_version = str(pick("tls_min_version", "TLSv1_2"))
    if min_version not in MIN_VERSIONS:
        raise ConfigError(f'tls: tls_min_version must be "TLSv1_2" or "TLSv1_3", not "{min_version}"')
    config = TLSConfig(
        ca_file=str(pick("ca_file", "")),
        ca_path=str(pick("ca_path", "")),
        cert_file=str(pick("cert_file", "")),
        key_file=str(pick("key_file", "")),
        client_certificates=mode,
        min_version=min_version,
    )
    if mode != NONE and not config.has_ca:
        raise ConfigError(f'tls: client_certificates = "{mode}" needs ca_file or ca_path to verify them')
    return config


def require_server_files(config: TLSConfig) -> None:
    """The HTTPS listener cannot start without a certificate and its key."""
    missing = [name for name in ("cert_file", "key_file") if not getattr(config, name)]
    if missing:
        raise ConfigError(
            f"ports.https is set but no {' or '.join(missing)} is (set them in tls.defaults or tls.https)"
        )


def server_context(config: TLSConfig) -> ssl.SSLContext:
    """The HTTPS listener's context: TLS 1.2 or newer, the server's chain, and the client CA.

    Every failure names the file at fault, so `muster agent` can say what to fix.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MIN_VERSIONS[config.min_version]
    for path in (config.cert_file, config.key_file):
        _readable(path)
    try:
        context.load_cert_chain(config.cert_file, config.key_file)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"{config.cert_file}, {config.key_file}: cannot load the TLS certificate and key: {_reason(exc)}"
        ) from None
    if config.ca_file:
        _load_ca(context, config.ca_file)
    if config.ca_path:
        folder = Path(config.ca_path)
        if not folder.is_dir():
            raise ConfigError(f"{folder}: cannot read the TLS CA directory: not a directory")
        for entry in sorted(p for p in folder.iterdir() if p.is_file()):
            _load_ca(context, str(entry))
    context.verify_mode = CLIENT_CERTIFICATES[config.client_certificates]
    return context


def _readable(path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read TLS file: {exc.strerror}") from None


def _load_ca(context: ssl.SSLContext, path: str) -> None:
    _readable(path)
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError as exc:
        raise ConfigError(f"{path}: cannot load the TLS CA certificate: {_reason(exc)}") from None


def _reason(exc: ssl.SSLError) -> str:
    # OpenSSL's bare "PEM lib" (no reason) means the file holds no usable PEM block of the right kind.
    return str(exc.reason) if exc.reason else "not a PEM file of the expected kind"
