"""The DNS interface (Consul's agent/dns): `<name>.service.<domain>` and friends, from healthy
instances only."""
