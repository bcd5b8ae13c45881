"""The OpenID Connect provider: Authlib server, grants, claims, keys, logout, views."""
