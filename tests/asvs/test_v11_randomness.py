"""OWASP ASVS 5.0 V11.5 and V6.5.3: every secret the provider makes comes from the operating system's CSPRNG
(the `secrets` module), never from `random`; V11.4.1: no MD5 or SHA-1 in the provider's own code (issue 18
part 2)."""

from __future__ import annotations

import ast
import inspect
import secrets
from pathlib import Path

import pyotp.compat
import pytest

import idp
from idp.security import totp

PACKAGE = Path(idp.__file__).resolve().parent


def test_no_module_of_the_provider_draws_from_the_random_module():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 50
    found = []
    for module in modules:
        tree = ast.parse(module.read_text("utf-8"), filename=str(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            found += [f"{module.relative_to(PACKAGE)}: {name}" for name in names
                      if name == "random" or name.startswith(("random.", "numpy.random"))]
    assert found == []


def test_the_modules_that_make_secrets_use_the_secrets_module():
    # Codes, recovery codes, session and device cookies, link tokens, client secrets.
    for name in ("security/codes.py", "security/recovery.py", "sessions/__init__.py", "sessions/devices.py",
                 "accounts/links.py", "accounts/passwords.py", "portals/registry.py"):
        source = PACKAGE.joinpath(name).read_text("utf-8")
        assert "import secrets" in source or "from secrets import" in source, name


def test_totp_seeds_come_from_the_systems_csprng_through_pyotp():
    assert "pyotp.random_base32(32)" in inspect.getsource(totp.new_secret)  # 32 base32 characters: 160 bits
    assert isinstance(pyotp.compat.random, secrets.SystemRandom)
    assert len({totp.new_secret() for _ in range(20)}) == 20


def test_no_module_of_the_provider_hashes_with_md5_or_sha1():
    # TOTP's HMAC-SHA1 is pyotp's (RFC 6238, what every authenticator app computes), not in this package.
    weak = {"md5", "sha1", "md4", "md5_sha1"}
    found = []
    for module in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text("utf-8"), filename=str(module))):
            if isinstance(node, ast.Attribute) and node.attr.lower() in weak:
                found.append(f"{module.relative_to(PACKAGE)}: .{node.attr}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in weak:
                found.append(f"{module.relative_to(PACKAGE)}: {node.value!r}")
    assert found == []


# 11.4.1: the signed session cookie (the sign-in under way, the CSRF secret) is HMAC-SHA256, not Flask's SHA-1.
def test_the_session_cookie_is_signed_with_hmac_sha256(app, client):
    from flask.sessions import SecureCookieSessionInterface
    from itsdangerous import BadSignature

    page = client.get("/reset")
    assert page.status_code == 200
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None, "the form's CSRF secret lives in the session cookie"

    assert "csrf_token" in app.session_interface.get_signing_serializer(app).loads(cookie.value)
    with pytest.raises(BadSignature):
        SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie.value)  # Flask's HMAC-SHA1
