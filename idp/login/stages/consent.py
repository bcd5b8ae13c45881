"""Consent for third-party portals; once given it is remembered per scope."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from flask_babel import gettext as _
from sqlalchemy import select

from idp import clock
from idp.audit import EventTag, record
from idp.delegation.acting import allowed_scopes
from idp.extensions import db
from idp.login.flow import Done, Fail, Flow, Retry, acting_under
from idp.login.policy import Step
from idp.models import Consent
from idp.portals.profile import shown_scopes


class ConsentStage:
    name = "consent"
    template = "login/consent.html"

    def _scopes(self, flow: Flow) -> list[str]:
        return list(scope_to_list(flow.client.get_allowed_scope(flow.params.get("scope", ""))) or [])

    def context(self, flow: Flow, step: Step) -> dict:
        # Only what the portal may receive: a scope whose claims its profile withholds is not asked for.
        scopes = [s for s in self._scopes(flow) if s != "openid"]
        acting = acting_under(flow.state)
        if acting is None:
            return {"scopes": shown_scopes(flow.client, scopes), "acting_for": None}
        # Signing in for someone else: the portal gets that person's details, never more than the delegation
        # names; the page says whose.
        return {"scopes": shown_scopes(flow.client, allowed_scopes(acting, scopes)),
                "acting_for": acting.principal.name or acting.principal.email}

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry | Fail:
        choice = form.get("decision")
        if choice == "deny":
            record(EventTag.CONSENT_DENIED, outcome="failure", user_id=flow.user.id,
                   client_id=flow.client.client_id)
            return Fail("access_denied", "The user did not allow access.")
        if choice != "allow":
            return Retry(_("Choose whether to allow access."))
        scopes = self._scopes(flow)
        consent = db.session.scalar(
            select(Consent).where(Consent.user_id == flow.user.id, Consent.client_id == flow.client.id)
        )
        if consent is None:
            consent = Consent(user_id=flow.user.id, client_id=flow.client.id, scopes=[], granted_at=clock.now())
            db.session.add(consent)
        consent.scopes = sorted(set(consent.scopes) | set(scopes))
        consent.granted_at = clock.now()
        flow.state.consented = True
        record(EventTag.CONSENT_GRANTED, user_id=flow.user.id, client_id=flow.client.client_id, scopes=scopes)
        return Done()
