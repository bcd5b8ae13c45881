"""The account page "Who may act for you" (issue 15 part 3): the delegations where the person is acted for,
with Revoke (and, for a child of 12 to 16, the consent a parent's access waits for); the invitation of a family
member or contact person; and the delegations where the person acts for someone else, with Accept (an invitation)
and Stop. Thin views over idp/delegation/invitations.py and own_consent.py.

Inviting and revoking are changes like the others on the account pages: signed in, the password confirmed in
the last minutes, CSRF-protected POSTs; a delegation id that is not the person's own changes nothing.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from idp import clock
from idp.delegation import invitations, own_consent
from idp.delegation.ages import AgeRules
from idp.delegation.grants import ends_at, refusal
from idp.errors import InvalidInput
from idp.extensions import db, limiter
from idp.models import Client, Delegation, User
from idp.models import delegation as d
from idp.portals import profile
from idp.runtime import settings
from idp.web.account import bp, fresh_password, signed_in
from idp.web.cookies import current_session
from idp.web.throttle import client_network


def _portals() -> list[Client]:
    """The portals where someone may act for another (their profile allows delegation), by name."""
    found = [c for c in db.session.scalars(select(Client)) if profile.of(c).delegation]
    return sorted(found, key=lambda c: (c.display_name or c.client_id).casefold())


def _invite_key() -> str:
    """Invitations are limited per person (like other link requests), never only per network."""
    sso = current_session()
    return "invite:" + (sso.user.sub if sso is not None else client_network())


def _made(response) -> bool:
    """Only an invitation that went out counts towards the limit (not the password step before it)."""
    return response.status_code in (302, 303)


@bp.get("/delegations")
@signed_in
def delegations(user: User):
    return _page(user)


def _page(user: User, *, error: str | None = None, typed: dict | None = None, status: int = 200):
    now = clock.now()
    portals = _portals()
    names = {c.client_id: c.display_name for c in portals}

    def where(item: Delegation) -> str:
        return ", ".join(names.get(p, p) for p in item.portals)

    page = render_template(
        "accounts/delegations.html", user=user, now=now, error=error, typed=typed or {},
        mine=invitations.as_principal(user), theirs=invitations.as_delegate(user), portals=portals,
        where=where, may_invite=invitations.may_invite(user, now), awaits_consent=own_consent.awaits_consent,
        adult_from=AgeRules.from_settings().adult_from, consent_from=AgeRules.from_settings().consent_from,
        relations=invitations.RELATIONS,
        ends_at=ends_at, refusal=refusal, expires_at=invitations.expires_at, acceptable=invitations.acceptable,
        shown_name=invitations.shown_name, PENDING=d.PENDING, ACTIVE=d.ACTIVE, INVITATION=d.INVITATION)
    db.session.commit()  # the session's last use
    return page, status


@bp.post("/delegations/invite")
@limiter.limit(lambda: settings().limits.links_per_account, key_func=_invite_key, deduct_when=_made)
@signed_in
@fresh_password
def invite(user: User):
    form = request.form
    typed = {"name": form.get("name", "")[:200], "email": form.get("email", "")[:320],
             "relation": form.get("relation", ""), "portal": form.get("portal", "")}
    portals = [p for p in [typed["portal"]] if p]
    try:
        invitations.invite(user, typed["email"], typed["name"], portals, [], typed["relation"], clock.now())
    except InvalidInput:
        db.session.rollback()
        return _page(user, status=400, typed=typed, error=_(
            "Check the name, the e-mail address and the relation, then try again. "
            "Nothing has been sent."))
    db.session.commit()
    # The same words whether or not the address had an account: nobody learns that from this page.
    flash(_("We have sent an invitation to %(email)s. When %(name)s accepts it, it is shown here as active.",
            email=typed["email"].strip(), name=" ".join(typed["name"].split())), "done")
    return redirect(url_for("account.delegations"), 303)


@bp.post("/delegations/<int:delegation_id>/revoke")
@signed_in
@fresh_password
def revoke_delegation(user: User, delegation_id: int):
    if request.form.get("confirmed") != "yes":
        return _confirm(user, delegation_id, invitations.own_as_principal(user, delegation_id), "revoke")
    ended = invitations.revoke_by_principal(user, delegation_id, clock.now())
    if ended is None:  # not this person's, or already ended: nothing changes
        db.session.rollback()
        flash(_("There is no such access to withdraw. Nothing has been changed."), "error")
        return redirect(url_for("account.delegations"), 303)
    db.session.commit()
    flash(_("%(name)s can no longer act for you. This applies at once.", name=invitations.shown_name(ended)), "done")
    return redirect(url_for("account.delegations"), 303)


@bp.post("/delegations/<int:delegation_id>/stop")
@signed_in
@fresh_password
def stop_delegation(user: User, delegation_id: int):
    if request.form.get("confirmed") != "yes":
        return _confirm(user, delegation_id, invitations.own_as_delegate(user, delegation_id), "stop")
    ended = invitations.stop_acting(user, delegation_id, clock.now())
    if ended is None:
        db.session.rollback()
        flash(_("There is no such access to stop. Nothing has been changed."), "error")
        return redirect(url_for("account.delegations"), 303)
    db.session.commit()
    flash(_("You no longer act for %(name)s.", name=ended.principal.name or ""), "done")
    return redirect(url_for("account.delegations"), 303)


@bp.post("/delegations/<int:delegation_id>/consent")
@signed_in
@fresh_password
def consent_delegation(user: User, delegation_id: int):
    given = own_consent.give(user, delegation_id, clock.now())
    if given is None:  # not this person's, or not waiting for their consent: nothing changes
        db.session.rollback()
        flash(_("There is no such request for your consent. Nothing has been changed."), "error")
        return redirect(url_for("account.delegations"), 303)
    db.session.commit()
    flash(_("%(name)s can now act for you. You can withdraw this at any time on this page.",
            name=invitations.shown_name(given)), "done")
    return redirect(url_for("account.delegations"), 303)


@bp.post("/delegations/<int:delegation_id>/accept")
@signed_in
def accept_delegation(user: User, delegation_id: int):
    found = db.session.get(Delegation, delegation_id)
    try:
        if found is None:
            raise InvalidInput("no such invitation")
        invitations.accept(found, user, clock.now())
    except InvalidInput:
        db.session.rollback()
        flash(_("This invitation can no longer be accepted. Ask the person to invite you again."), "error")
        return redirect(url_for("account.delegations"), 303)
    db.session.commit()
    flash(_("You can now act for %(name)s. Choose %(name)s when you sign in at the portal.",
            name=found.principal.name or ""), "done")
    return redirect(url_for("account.delegations"), 303)



def _confirm(user: User, delegation_id: int, item: Delegation | None, action: str):
    """Ask once more before withdrawing or stopping (no script: the page itself asks)."""
    if item is None:
        flash(_("There is no such access to withdraw. Nothing has been changed."), "error")
        return redirect(url_for("account.delegations"), 303)
    name = invitations.shown_name(item) if action == "revoke" else (item.principal.name or "")
    endpoint = "account.revoke_delegation" if action == "revoke" else "account.stop_delegation"
    return render_template("accounts/delegation_confirm.html", user=user, action=action, name=name,
                           url=url_for(endpoint, delegation_id=delegation_id))
