"""The admin console's messages page (issue 16 part 2): the e-mails, text messages and back-channel logouts
given up on (dead), masked, and sending them again: one, or all. Deployment admins only
(Action.MANAGE_MESSAGES). The same service as `idp messages retry` (idp.messaging.retry_dead)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from idp import clock
from idp.accounts import admins
from idp.errors import InvalidInput, NotFound
from idp.extensions import db
from idp.messaging import retry_all_dead, retry_dead, undelivered
from idp.web.admin import admin_only, bp


@bp.get("/messages")
@admin_only
def messages(admin: admins.Admin) -> ResponseReturnValue:
    admins.require(admin, admins.Action.MANAGE_MESSAGES, None)
    return render_template("admin/messages.html", admin=admin, dead=undelivered.listed())


@bp.route("/messages/<int:message_id>/retry", methods=["GET", "POST"])
@admin_only
def retry_message(admin: admins.Admin, message_id: int) -> ResponseReturnValue:
    admins.require(admin, admins.Action.MANAGE_MESSAGES, None)
    if request.method == "GET":
        found = undelivered.one(message_id)
        if found is None:
            flash(str(_l("This message is no longer waiting: it was sent again already.")), "error")
            return redirect(url_for("admin.messages"))
        return render_template("admin/messages_retry.html", admin=admin, message=found)
    try:
        retry_dead(message_id, clock.now())
    except (NotFound, InvalidInput):
        db.session.rollback()
        flash(str(_l("Nothing has been sent again: this message is no longer waiting, or its text was erased.")),
              "error")
    else:
        db.session.commit()
        flash(str(_l("The message is queued again and will be sent shortly.")), "done")
    return redirect(url_for("admin.messages"))


@bp.route("/messages/retry-all", methods=["GET", "POST"])
@admin_only
def retry_all_messages(admin: admins.Admin) -> ResponseReturnValue:
    admins.require(admin, admins.Action.MANAGE_MESSAGES, None)
    if request.method == "GET":
        return render_template("admin/messages_retry.html", admin=admin, message=None,
                               count=sum(1 for m in undelivered.listed() if m.retryable))
    queued, erased = retry_all_dead(clock.now())
    db.session.commit()
    flash(ngettext("%(num)d message is queued again and will be sent shortly.",
                   "%(num)d messages are queued again and will be sent shortly.", len(queued)), "done")
    if erased:
        flash(ngettext("%(num)d message is too old to send again: its text was erased.",
                       "%(num)d messages are too old to send again: their text was erased.", len(erased)), "error")
    return redirect(url_for("admin.messages"))
