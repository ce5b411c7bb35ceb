"""Services and checks defined in config files (Consul's `service`/`services` and `check`/`checks`
blocks), decoded and validated as the API's bodies are; a mistake names the file (§5)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from muster import config as config_mod
from muster.agent.registration import ServiceRegistration, build_registration
from muster.agent.scripts import ScriptPolicy
from muster.config import AgentConfig
from muster.decode import decode_struct
from muster.errors import BadRequest, ConfigError, MusterError
from muster.models import CheckDefinition
from muster.schemas import CHECK_DEFINITION, SERVICE_DEFINITION

ValidateRegistration = Callable[[ServiceRegistration, ScriptPolicy], None]
PrepareCheck = Callable[..., CheckDefinition]


def config_registrations(
    config: AgentConfig, scripts: ScriptPolicy, validate: ValidateRegistration
) -> list[ServiceRegistration]:
    registrations = []
    for file, raw in config.services:
        try:
            fields = decode_struct(config_mod.config_keys_to_api(raw), SERVICE_DEFINITION)
            registration = build_registration(
                fields,
                namespace=fields.get("Namespace") or "default",
                token=fields.get("Token", ""),
                source="local",
            )
            validate(registration, scripts)
        except MusterError as exc:  # DecodeError, BadRequest: each names what is wrong
            raise ConfigError(f"{file}: invalid service definition: {exc.text}") from None
        registrations.append(registration)
    return registrations


def config_checks(
    config: AgentConfig,
    scripts: ScriptPolicy,
    prepare: PrepareCheck,
    services: Collection[tuple[str, str]] | None = None,
) -> list[CheckDefinition]:
    """`services`: the services the checks may name (a reload's, before it applies); None: the state's."""
    definitions = []
    for file, raw in config.checks:
        try:
            fields: dict[str, Any] = decode_struct(config_mod.config_keys_to_api(raw), CHECK_DEFINITION)
            if not fields.get("Name"):
                raise BadRequest("Missing check name")
            definition = prepare(
                fields,
                namespace=fields.get("Namespace") or "default",
                token=fields.get("Token", ""),
                source="local",
                services=services,
            )
            scripts.require([definition], definition.source)
        except MusterError as exc:  # DecodeError, BadRequest, NotFound: each names what is wrong
            raise ConfigError(f"{file}: invalid check definition: {exc.text}") from None
        definitions.append(definition)
    return definitions
