"""Muster: a service registry and health agent, wire-compatible with Consul's agent HTTP API."""

__version__ = "0.1.0"

# The Consul HTTP API level Muster matches; clients read it from /v1/agent/self Config.Version.
CONSUL_API_VERSION = "1.21.0"
