"""This agent's node, as the catalog, the fleet sync and DNS name it: fixed at start-up, its ID once the
store has been read (a part holds this object, not the agent, and reads the ID when it answers)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class NodeIdentity:
    name: str
    datacenter: str
    address: str
    meta: dict[str, str] = field(default_factory=dict)
    id: str = ""  # the node ID, kept in the store; set by the composition root before anything serves
