"""Identify + password: the first stage of every sign-in."""

from __future__ import annotations

from flask_babel import gettext as _

from idp import clock
from idp.accounts import passwords
from idp.accounts.users import find_by_login
from idp.audit import EventTag, record
from idp.login.flow import Done, Flow, Retry
from idp.login.policy import Step
from idp.portals import profile
from idp.security import lockout
from idp.security.logins import MAX_LOGIN, login_key, normalise_login


class PasswordStage:
    name = "password"
    template = "login/password.html"

    def context(self, flow: Flow, step: Step) -> dict:
        return {"login_hint": flow.state.login or flow.params.get("login_hint", ""),
                "sign_in_with": profile.of(flow.client).sign_in_with}

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry:
        login = normalise_login(form.get("username"))  # never cut: a cut could turn padding into a match
        password = form.get("password") or ""
        flow.state.login = login[:MAX_LOGIN]  # to fill the form in again
        if not login or not password:
            return Retry(_("Enter your e-mail address and your password."))
        user = find_by_login(login, by=profile.of(flow.client).sign_in_with)
        # One count per account, whether its e-mail address or its username was typed; unknown names count
        # by what was typed (and lock the same way).
        counted = user.email if user else login
        attempt = lockout.begin_attempt(counted)  # counted (and committed) before the slow hash
        if not attempt.allowed:
            # Checked before the password, so a locked name learns nothing from it; known or not, same answer.
            record(EventTag.LOGIN_PASSWORD_FAILURE, outcome="failure", user_id=user.id if user else None,
                   client_id=flow.client.client_id,
                   login_hash=login_key(login),
                   reason="locked")
            return Retry(lockout.locked_message(flow.client))
        valid = passwords.check_password(user, password)  # an unknown name: a dummy hash, same time
        if not valid or not user.is_active:
            # What was typed may be a password typed in the wrong field, and a name is personal data: only its
            # keyed hash is kept, which still ties the failures for one name together.
            record(EventTag.LOGIN_PASSWORD_FAILURE, outcome="failure", user_id=user.id if user else None,
                   client_id=flow.client.client_id,
                   login_hash=login_key(login),
                   reason="disabled" if valid else "invalid_credentials")
            if lockout.record_failure(counted, attempt, user, client=flow.client):
                if user is not None:
                    passwords.tell_locked(user, flow.client)
                return Retry(lockout.locked_message(flow.client))
            return Retry(_("The e-mail address or password is not correct."))
        lockout.record_success(counted)
        if user.activation_pending:
            # The right password of an account whose activation is not finished (the phone not confirmed yet):
            # not usable until it is complete (issue 14); the link goes on where the person stopped.
            record(EventTag.LOGIN_PASSWORD_FAILURE, outcome="failure", user_id=user.id,
                   client_id=flow.client.client_id, login_hash=login_key(login),
                   reason="activation_pending")
            return Retry(_("Your account is not ready yet. Finish activating it with the link in the e-mail we "
                           "sent you; if the link no longer works, ask your organisation for a new one."))
        flow.user = user
        flow.state.prove("pwd", clock.timestamp(clock.now()))
        flow.state.password_typed = True
        # Only here is the typed password known: whether it meets this portal's policy is decided now.
        flow.state.password_weak = passwords.falls_short(user, password, flow.client)
        record(EventTag.LOGIN_PASSWORD_SUCCESS, user_id=user.id, client_id=flow.client.client_id)
        return Done()
