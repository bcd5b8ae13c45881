"""Authenticator apps: RFC 6238 codes, one step of drift either way, a code accepted once is refused again."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest

from idp.security import totp
from idp.security.codes import CodeError
from idp.security.totp import TotpInvalid, TotpReplayed
from tests.helpers import tomorrow_at

NOW = tomorrow_at(9, 0, 15)
STEP = int(NOW.timestamp()) // 30


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


@pytest.fixture
def secret():
    return totp.new_secret()


def test_secret_is_base32_of_160_bits(secret):
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert totp.new_secret() != secret


def test_code_of_this_moment_returns_its_step(secret):
    assert totp.verify(secret, code_at(secret, NOW), None, now=NOW) == STEP


@pytest.mark.parametrize("drift", [-1, 1])
def test_one_step_of_drift_is_accepted(secret, drift):
    code = code_at(secret, NOW + timedelta(seconds=30 * drift))
    assert totp.verify(secret, code, None, now=NOW) == STEP + drift


@pytest.mark.parametrize("drift", [-2, 2, -10])
def test_two_steps_away_is_refused(secret, drift):
    code = code_at(secret, NOW + timedelta(seconds=30 * drift))
    nearby = {code_at(secret, NOW + timedelta(seconds=30 * d)) for d in (-1, 0, 1)}
    if code in nearby:  # one in a few hundred thousand: the same six digits came up again
        pytest.skip("code collides with a nearby step")
    with pytest.raises(TotpInvalid):
        totp.verify(secret, code, None, now=NOW)


def test_same_step_is_refused_the_second_time(secret):
    code = code_at(secret, NOW)
    step = totp.verify(secret, code, None, now=NOW)
    with pytest.raises(TotpReplayed):
        totp.verify(secret, code, step, now=NOW + timedelta(seconds=10))


def test_older_step_after_a_newer_one_is_refused(secret):
    newer = totp.verify(secret, code_at(secret, NOW + timedelta(seconds=30)), None, now=NOW)
    with pytest.raises(TotpReplayed):
        totp.verify(secret, code_at(secret, NOW), newer, now=NOW)


def test_next_step_after_a_used_one_is_accepted(secret):
    step = totp.verify(secret, code_at(secret, NOW), None, now=NOW)
    later = NOW + timedelta(seconds=30)
    assert totp.verify(secret, code_at(secret, later), step, now=later) == step + 1


def test_spaces_are_ignored(secret):
    code = code_at(secret, NOW)
    assert totp.verify(secret, f" {code[:3]} {code[3:]} ", None, now=NOW) == STEP


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12a456", "x" * 1000, "١٢٣٤٥٦"])
def test_anything_but_six_digits_is_invalid(secret, typed):
    with pytest.raises(TotpInvalid):
        totp.verify(secret, typed, None, now=NOW)


def test_wrong_secret_is_invalid(secret):
    with pytest.raises(TotpInvalid):
        totp.verify(totp.new_secret(), code_at(secret, NOW), None, now=NOW)


def test_time_comes_from_the_clock(secret, time_machine):
    time_machine.move_to(NOW, tick=False)
    assert totp.verify(secret, code_at(secret, NOW), None) == STEP


def test_errors_are_code_errors_with_a_sentence(app):
    assert issubclass(TotpInvalid, CodeError) and issubclass(TotpReplayed, CodeError)
    assert TotpReplayed().message.endswith(".") and str(TotpInvalid()).endswith(".")


def test_provisioning_uri_names_issuer_and_account(secret):
    uri = totp.provisioning_uri(secret, "anna@example.org", "Zorgportaal")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert unquote(parsed.path) == "/Zorgportaal:anna@example.org"
    query = parse_qs(parsed.query)
    assert query["secret"] == [secret] and query["issuer"] == ["Zorgportaal"]
    assert pyotp.parse_uri(uri).now() == pyotp.TOTP(secret).now()


def test_qr_code_is_inline_svg_without_style(app, secret):
    svg = totp.qr_svg(totp.provisioning_uri(secret, "anna@example.org", "Zorgportaal"))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "style" not in svg and "<script" not in svg
    root = ET.fromstring(svg)  # noqa: S314 (our own QR code, made a line above)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") and root.get("role") == "img" and root.get("aria-label")
    assert all("style" not in element.attrib for element in root.iter())
    assert secret not in svg  # the secret is only in the black and white squares


def test_secret_is_grouped_by_four_for_typing():
    assert totp.format_secret("ABCDEFGHIJKLMNOP") == "ABCD EFGH IJKL MNOP"
    assert totp.format_secret("ABCDEF") == "ABCD EF"
