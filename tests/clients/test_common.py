"""clients/common.py in isolation: how a portal puts the provider's amr claim into words."""

from __future__ import annotations

import pytest

from clients.common import how_signed_in


@pytest.mark.parametrize(("amr", "words"), [
    (["pwd"], "met wachtwoord"),
    (["mfa", "pwd", "sms"], "met wachtwoord en sms-code"),
    (["otp", "pwd", "mfa"], "met wachtwoord en code uit app of e-mail"),  # the password first, whatever the order
    (["mfa", "pwd"], "met wachtwoord en vertrouwde computer"),  # the second step was a trusted browser
    (["pwd", "sms", "otp", "mfa"], "met wachtwoord, sms-code en code uit app of e-mail"),
    ([], ""),
    (None, ""),
    (["face"], ""),  # a method the portal has no words for says nothing rather than something wrong
])
def test_how_signed_in_in_words(amr, words):
    assert how_signed_in(amr) == words
