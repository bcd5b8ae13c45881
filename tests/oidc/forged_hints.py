"""An attacker's re-signing of a real ID token: the same header and claims under alg=none or HS256 with a key
the attacker can know (the portal's own client secret, our public key's bytes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from joserfc.jwk import RSAKey

FORGERIES = ["none", "None", "NONE", "HS256 with the client secret", "HS256 with the public key in PEM",
             "HS256 with the public JWK"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _header(token: str) -> dict:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def resign(token: str, alg: str, key: bytes | None = None) -> str:
    """The token's own claims (byte for byte) and header under another alg: an empty signature for none."""
    payload = token.split(".")[1]
    header = _b64(json.dumps({**_header(token), "alg": alg}, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = "" if key is None else _b64(hmac.new(key, signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def forge(client, portal, token: str, how: str) -> str:
    """The real ID token `token`, re-signed as `how` (one of FORGERIES)."""
    if how.lower() == "none":
        return resign(token, how)
    kid = _header(token)["kid"]
    public = next(k for k in client.get("/jwks.json").get_json()["keys"] if k["kid"] == kid)
    key = {
        "HS256 with the client secret": lambda: portal.secret.encode(),
        "HS256 with the public key in PEM": lambda: RSAKey.import_key(public).as_pem(private=False),
        "HS256 with the public JWK": lambda: json.dumps(public).encode(),
    }[how]()
    return resign(token, "HS256", key)
