"""Confirming a phone number or e-mail address with a code: the one way every page does it.

Send a code (to a number the person types, or to their address) → the code page (where it went, masked, and
the prefix the SMS repeats) → check what was typed (a wrong try counts; codes.verify ends a code after its
last try) → send a new code on request (codes.issue paces and caps them). Activation, the phone number after a
reset, the enrol step of a sign-in and the account page all run this; they differ only in the page around it.

A step runs in a savepoint and returns an Outcome: a step that went wrong in a way that must not count (a
refused number, a code asked for too soon) is rolled back, so the earlier number and its code stay as they
were; a wrong code is kept, because it counts towards the code's tries. The caller commits, then shows `page`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

from idp.accounts import factors
from idp.errors import InvalidInput
from idp.extensions import db
from idp.messaging import Sender
from idp.models import Factor, User
from idp.security import codes, phones

# What a step leads to: the page asking where to send (the number; for e-mail a "send" button), the code
# page, or the end (the factor is confirmed).
START, CODE, CONFIRMED = "start", "code", "confirmed"
# What the person asked for, from the code forms' `action` button.
SEND, RESEND, CONFIRM, OTHER = "send", "resend", "confirm", "other"
ACTIONS = frozenset({SEND, RESEND, CONFIRM, OTHER})


@dataclass(frozen=True)
class CodePage:
    """What the code page shows: the kind, where the code went (a number masked), the prefix before it."""

    kind: str
    destination: str
    prefix: str | None


@dataclass(frozen=True)
class Outcome:
    page: str
    error: str | None = None
    notice: str | None = None
    typed: str = ""  # the number as typed, shown again with its error
    keep: bool = True  # the step's writes stand (else its savepoint was rolled back)
    recovery_codes: list[str] | None = None  # after a first factor: shown once


@dataclass(frozen=True)
class Confirmation:
    """One confirmation: whose, which kind ("sms" or "email"), and the flow its codes are bound to (a code sent
    for another flow or kind never confirms this one). `replace` sets a new number for a confirmed SMS factor."""

    user: User
    kind: str
    flow_uid: str
    replace: bool = False
    style: codes.Style = codes.DEFAULT_STYLE  # the portal's codes (profile.code_style)
    sender: Sender | None = None  # the portal its messages are sent for (profile.sender); None: none

    def factor(self) -> Factor | None:
        """The factor waiting for its code, if a code was sent."""
        return factors.pending(self.user, self.kind)

    def page(self) -> CodePage | None:
        """The code page, once a code is on its way; None before."""
        factor = self.factor()
        if factor is None:
            return None
        live = factors.live_code(self.user, factor, flow_uid=self.flow_uid)
        destination = (phones.mask_phone(factors.enrolling_phone(factor)) if self.kind == "sms"
                       else self.user.email)
        return CodePage(self.kind, destination, live.prefix if live is not None else None)

    def step(self, action: str, form: Mapping[str, str]) -> Outcome:
        """Run what the person asked for: send a first code, send a new one, or check the typed code (not
        committed; what must not count is already rolled back)."""
        savepoint = db.session.begin_nested()
        outcome = self._step(action, form)
        if outcome.keep:
            savepoint.commit()
        else:
            savepoint.rollback()
        return outcome

    def _step(self, action: str, form: Mapping[str, str]) -> Outcome:
        if action == OTHER:
            return Outcome(START)
        if action == SEND:
            return self.send(form.get("phone") or "")
        factor = self.factor()
        if factor is None:  # a second tab, the back button, or the code expired with its factor
            return Outcome(START)
        if action == RESEND:
            return self.resend(factor)
        return self.check(factor, form.get("code") or "")

    def send(self, typed: str = "") -> Outcome:
        """The first code: to the number typed (SMS), or to the person's address (e-mail)."""
        typed = typed[: phones.MAX_INPUT]
        try:
            if self.kind == "sms":
                factors.start_sms(self.user, typed, flow_uid=self.flow_uid, replace=self.replace,
                                  style=self.style, sender=self.sender)
            else:
                factors.start_email(self.user, flow_uid=self.flow_uid, style=self.style, sender=self.sender)
        except (InvalidInput, codes.CodeError) as error:
            # e.g. not a mobile number, a code sent moments ago, or too many this hour
            return Outcome(START, error=_message(error), typed=typed, keep=False)
        return Outcome(CODE)

    def resend(self, factor: Factor) -> Outcome:
        try:
            factors.resend(self.user, factor, flow_uid=self.flow_uid, style=self.style, sender=self.sender)
        except codes.CodeError as error:
            return Outcome(CODE, error=error.message, keep=False)
        return Outcome(CODE, notice=_("We sent you a new code. The previous code no longer works."))

    def check(self, factor: Factor, typed: str) -> Outcome:
        if not typed.strip():
            return Outcome(CODE, error=_("Enter the code."), keep=False)
        try:
            recovery_codes = factors.confirm(self.user, factor, typed, flow_uid=self.flow_uid,
                                             sender=self.sender)
        except codes.CodeError as error:
            return Outcome(CODE, error=error.message)  # kept: a wrong try counts towards the code's limit
        return Outcome(CONFIRMED, recovery_codes=recovery_codes)


def _message(error: Exception) -> str:
    return str(getattr(error, "message", None) or error)
