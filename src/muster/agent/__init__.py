"""Consul's agent/ in miniature: the composition root (root.py) that builds and wires the parts, the
local state, the service and check write services, their ordering locks and the registration builder."""

from muster.agent.root import Agent

__all__ = ["Agent"]
