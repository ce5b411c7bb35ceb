"""Who may register script checks: Consul's enable_script_checks (any source) and
enable_local_script_checks (config files only). The one place the rule and its texts are applied."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from muster.checks.definition import SCRIPTS_DISABLED_LOCAL, SCRIPTS_DISABLED_REMOTE, needs_scripts
from muster.errors import BadRequest
from muster.models import CheckDefinition


@dataclass
class ScriptPolicy:
    enable_script_checks: bool = False
    enable_local_script_checks: bool = False

    def allowed(self, source: str) -> bool:
        return self.enable_script_checks or (source == "local" and self.enable_local_script_checks)

    def require(self, definitions: Iterable[CheckDefinition], source: str) -> None:
        """Consul answers 500 here; a client's mistake, so Muster answers 400 with Consul's text."""
        if any(needs_scripts(definition) for definition in definitions) and not self.allowed(source):
            raise BadRequest(SCRIPTS_DISABLED_REMOTE if source == "remote" else SCRIPTS_DISABLED_LOCAL)
