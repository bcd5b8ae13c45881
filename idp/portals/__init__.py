"""The portals: OIDC clients registered with the provider (registry.py), below the protocol and the accounts
that both need to find or register one."""
