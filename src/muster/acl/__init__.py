"""Consul's ACL model: rules, policies, tokens, the authorizer, and the manager the Agent owns."""
