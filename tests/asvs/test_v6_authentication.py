"""OWASP ASVS 5.0 V6 (authentication): what held in the code without a test of its own (issue 18 part 2).
docs/security.md maps every requirement; these tests close the gaps that needed no change to the provider."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from idp.accounts import factors
from idp.extensions import db
from idp.models import AdminRole, User
from idp.runtime import settings
from idp.security import passwords, policy
from tests.flows.test_reset import ask_link, link_in_mail, save
from tests.helpers import RelyingParty
from tests.mfa_helpers import SignIn, totp_now

ROOT = Path(__file__).resolve().parents[2]
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def settings_overrides():
    return {"limits": {"links_per_ip": "1000 per hour", "links_per_account": "1000 per hour"}}


# 6.2.5: the built-in policy sets no composition rule; whatever characters a person likes are taken.
@pytest.mark.parametrize("password", [
    "rivierduin zomeravond",      # small letters and a space only
    "8306 1175 4429 0617",        # digits and spaces only
    "ZONNEBLOEM KLAPROOS",        # capitals only
    "één twee drie vier ✓",       # accents and a symbol outside ASCII
    "日本語のパスワードです",        # no Latin letter at all
])
def test_the_built_in_policy_takes_a_password_of_any_composition(app, password):
    standard = settings().password_policies["standard"]
    assert policy.failures(password, standard, email="anna@example.org", name="Anna de Vries") == []


# 6.2.8: the password is checked exactly as typed: no case folding, no trimming, no cut.
def test_a_password_is_checked_exactly_as_it_was_typed():
    typed = "Lente Bloem 2026"
    hashed = passwords.hash_password(typed, 4)
    assert passwords.verify_password(typed, hashed, 4)
    for other in ("lente bloem 2026", "LENTE BLOEM 2026", " Lente Bloem 2026", "Lente Bloem 2026 ",
                  "Lente Bloem 202", "Lente  Bloem 2026"):
        assert not passwords.verify_password(other, hashed, 4), other


# 6.2.7: nothing stops pasting or a password manager: no paste handler anywhere, and no password field that
# switches autocomplete off.
def test_no_page_blocks_pasting_or_a_password_manager():
    sources = [*ROOT.joinpath("templates").rglob("*.html"), *ROOT.joinpath("idp", "static").rglob("*.js")]
    assert sources
    for source in sources:
        text = source.read_text("utf-8")
        assert "paste" not in text.lower(), source
        for call in re.findall(r"password\([^)]*\)", text):
            assert 'autocomplete="off"' not in call, (source, call)
        for tag in re.findall(r"<input[^>]*type=\"password\"[^>]*>", text):
            assert 'autocomplete="off"' not in tag, (source, tag)


# 6.3.2: a new deployment has no default account, let alone an admin with a known password.
def test_a_new_deployment_has_no_account_and_no_admin(app):
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(AdminRole)) == 0


# 6.4.3: a reset by the mailed link proves the password only; a portal that asks a second factor still gets it.
def test_a_password_reset_does_not_skip_the_second_factor(app, client, make_portal, user):
    factors.add_confirmed(user, "totp", secret=TOTP_SECRET)
    db.session.commit()
    rp = RelyingParty(client, make_portal("Huisarts", mfa="required"))
    uid = rp.login_url().rsplit("/", 1)[1]
    ask_link(client, user.email, uid=uid)
    response = save(client, link_in_mail(app, user.email))
    assert response.status_code == 302 and response.location.endswith(f"/login/{uid}")
    assert "code=" not in response.location

    sign_in = SignIn(client, response.location)
    assert sign_in.stage == "second_factor"
    silent = rp.authorize(prompt="none")  # nor does the reset leave a session a portal could use
    assert "code=" not in silent.location
    sign_in.post(code=totp_now(TOTP_SECRET))
    assert "code" in sign_in.finished(rp.redirect_uri)


# 6.1.2 and 6.2.11: a policy's list of the deployment's own words (organisation, portal, product names) is
# refused inside a password, in any case; the rule says so in its sentence.
def test_a_policy_refuses_the_words_of_its_service_in_any_case(app):
    from idp.settings import PasswordPolicy

    care = PasswordPolicy(min_length=8, context_words=["Avondrood", "zorgpad"])
    for password in ("avondrood-Zon-2026", "MijnAVONDROODtuin!", "ZorgPad_lente_26"):
        assert [r.id for r in policy.failures(password, care)] == ["common"], password
    assert policy.failures("Zonnebloem-veld-2026", care) == []
    [rule] = [r for r in policy.evaluate("avondrood-Zon-2026", care) if r.id == "common"]
    assert rule.text == "Geen veelgebruikt wachtwoord en geen naam van deze dienst" and not rule.ok


def test_context_words_are_words_of_four_characters_or_more(tmp_path):
    from idp.settings import SettingsError, load

    config = tmp_path / "config.toml"
    config.write_text('[password_policies.care]\ncontext_words = ["zorg", "ai"]\n')
    with pytest.raises(SettingsError, match=r"\[password_policies\.care\]: context_words are words of at least 4"):
        load(environ={"IDP_SERVER_DEV_MODE": "true", "IDP_SERVER_INSTANCE_PATH": str(tmp_path),
                      "IDP_CONFIG": str(config)})
    config.write_text('[password_policies.care]\ncontext_words = ["zorg", "avondrood"]\n')
    loaded = load(environ={"IDP_SERVER_DEV_MODE": "true", "IDP_SERVER_INSTANCE_PATH": str(tmp_path),
                           "IDP_CONFIG": str(config)})
    assert loaded.password_policies["care"].context_words == ["zorg", "avondrood"]
