"""One error hierarchy for the whole agent: each error carries its HTTP status and Consul's exact text.

Handlers raise these; only `api/render.py` turns them into responses.
"""

from __future__ import annotations


class MusterError(Exception):
    """An error with the HTTP status and the body text Consul answers with."""

    status = 500

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class BadRequest(MusterError):
    status = 400


class Unauthorized(MusterError):
    status = 401


class Forbidden(MusterError):
    status = 403


class NotFound(MusterError):
    status = 404


class MethodNotAllowed(MusterError):
    status = 405

    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"method {method} not allowed")
        self.allow = ",".join(("OPTIONS", *allowed))


class PayloadTooLarge(MusterError):
    status = 413


class StoreError(MusterError):
    """The embedded store could not make a change durable: Muster's own failure, so a 500."""

    status = 500


class NoClusterLeader(MusterError):
    """Consul's structs.ErrNoLeader: a `?consistent` read or a catalog write while etcd has no quorum."""

    status = 500

    def __init__(self) -> None:
        super().__init__("No cluster leader")


class DecodeError(BadRequest):
    """A request body that Go's encoding/json would reject; `text` is the bare Go error."""

    def __init__(self, text: str) -> None:
        super().__init__(text)


class ConfigError(Exception):
    """A configuration file or flag that cannot be used; the text names the key and the file."""
