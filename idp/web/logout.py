"""RP-initiated logout (end_session_endpoint, OIDC RP-Initiated Logout 1.0).

Back-channel logout tokens are queued by idp/sessions and delivered by idp/messaging (backchannel.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, make_response, redirect, render_template, request

from idp import sessions
from idp.extensions import csrf, db
from idp.models import Client, SsoSession
from idp.oidc.end_session import check
from idp.web.branding import show_portal
from idp.web.cookies import clear_cookie, current_session

bp = Blueprint("logout", __name__)
# Carried through the confirmation page so the confirmed POST is the same request.
CARRIED = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")


def _confirm_page(params: Mapping[str, str], client: Client | None):
    carried = {key: params[key] for key in CARRIED if params.get(key)}
    return render_template("oidc/logout_confirm.html", params=carried, client=client)


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt  # an RP may POST here; only the confirmation form is ours and checks its token below
def end_session():
    params = request.values
    asked = check(params)
    show_portal(asked.client)
    if asked.problem:
        return render_template("oidc/logout_error.html", problem=asked.problem), 400
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes"
    if confirmed:
        csrf.protect()

    ending: list[SsoSession] = []
    mine = current_session()
    hinted = sessions.by_sid(asked.hint.sid) if asked.hint else None
    # The hint's session in another browser: the request does not come from that session's own context.
    other = hinted if hinted is not None and hinted.ended_at is None and (mine is None or hinted.id != mine.id) \
        else None
    # Only a live ID token of the person signed in here ends this browser's session at once. Anything less
    # asks the person here first (§2 lets us ask, §6): no hint or another person's, an expired hint (it may
    # come from a log or a copied link), or a hint naming a session in another browser.
    ask_first = not confirmed and (
        (mine is not None and (asked.hint is None or asked.hint.sub != mine.user.sub or asked.hint.expired))
        or other is not None)
    if not ask_first:
        if mine is not None:
            ending.append(mine)
        if other is not None and asked.hint is not None and not asked.hint.expired:
            ending.append(other)  # confirmed here, by a live ID token of that session's portal

    reason = "rp-initiated" if asked.client else "user"
    deliveries = []
    for session in {s.id: s for s in ending}.values():
        deliveries += sessions.end(session, reason=reason, initiated_by=asked.client)
    db.session.commit()  # the portals are told now (idp/after_commit.py)

    if ask_first:
        return _confirm_page(params, asked.client)
    if asked.target:
        response = redirect(asked.target)
    else:
        response = make_response(render_template("oidc/logged_out.html", client=asked.client))
    clear_cookie(response)
    return response
