"""The JSON endpoints against their OpenAPI description (idp/openapi.yaml)."""
