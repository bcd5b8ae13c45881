"""Authenticator-app codes (RFC 6238: SHA1, 6 digits, 30 s steps: what every app supports), no replay."""

from __future__ import annotations

import hmac
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idp import clock
from idp.security.codes import CodeError

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps either side: clocks of phones drift, and people type slowly


class TotpInvalid(CodeError):
    message = _l("That code is not right. Enter the code your authenticator app shows now.")


class TotpReplayed(CodeError):
    message = _l("That code was already used. Wait for the next code in your authenticator app.")


def new_secret() -> str:
    """A fresh base32 secret of 160 bits."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    generator = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    return generator.provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """An inline <svg> of the QR code, drawn here (no external service) and without style attributes (CSP)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathFillImage, border=4)
    svg = image.get_image()
    svg.attrib.pop("width", None)
    svg.attrib.pop("height", None)
    svg.set("class", "qr-code")
    svg.set("role", "img")
    svg.set("aria-label", _("QR code for your authenticator app"))
    for element in svg.iter():
        element.attrib.pop("style", None)
        element.attrib.pop("id", None)  # a fixed id would clash when embedded twice
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    return ET.tostring(svg, encoding="unicode")


def format_secret(secret: str) -> str:
    """The secret in groups of four for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def verify(secret: str, submitted: str, last_step: int | None, now: datetime | None = None) -> int:
    """The time step the code belongs to (current ±1); refuses a step at or before last_step (replay)."""
    code = re.sub(r"\s", "", submitted[:40])
    if not re.fullmatch(rf"[0-9]{{{DIGITS}}}", code):  # [0-9]: \d would let other scripts' digits in
        raise TotpInvalid()
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int((now or clock.now()).timestamp()) // STEP_SECONDS
    matched = [step for step in range(current - WINDOW, current + WINDOW + 1)
               if hmac.compare_digest(totp.generate_otp(step), code)]
    if not matched:
        raise TotpInvalid()
    fresh = [step for step in matched if last_step is None or step > last_step]
    if not fresh:
        raise TotpReplayed()
    return max(fresh)
