"""Services and checks defined in config files (Consul's `service`/`services` and `check`/`checks`
blocks), decoded and validated as the API's bodies are; a mistake names the file (§5)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from muster import config as config_mod
from muster.agent.registration import ServiceRegistration, build_registration
from muster.agent.scripts import ScriptPolicy
from muster.bodies import CHECK_DEFINITION, SERVICE_DEFINITION
from muster.config import AgentConfig
from muster.errors import BadRequest, ConfigError, MusterError
from muster.models import CheckDefinition

ValidateRegistration = Callable[[ServiceRegistration, ScriptPolicy], None]
PrepareCheck = Callable[..., CheckDefinition]


def config_registrations(
    config: AgentConfig, scripts: ScriptPolicy, validate: ValidateRegistration
) -> list[ServiceRegistration]:
    registrations = []
    for file, raw in config.services:
        try:
            service = SERVICE_DEFINITION.convert(config_mod.config_keys_to_api(raw))
            registration = build_registration(
                service,
                namespace=service.namespace or "default",
                token=service.token,
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
            check = CHECK_DEFINITION.convert(config_mod.config_keys_to_api(raw))
            if not check.name:
                raise BadRequest("Missing check name")
            definition = prepare(
                check,
                namespace=check.namespace or "default",
                token=check.token,
                source="local",
                services=services,
            )
            scripts.require([definition], definition.source)
        except MusterError as exc:  # DecodeError, BadRequest, NotFound: each names what is wrong
            raise ConfigError(f"{file}: invalid check definition: {exc.text}") from None
        definitions.append(definition)
    return definitions
