"""Small portal apps that sign in through the provider as real OIDC clients (Authlib's Flask client)."""
