"""The account page "Recent activity" (issue 15 part 5): what happened on the person's account and what they
did for others, newest first, a page at a time. A thin view over idp/accounts/activity.py."""

from __future__ import annotations

from flask import abort, render_template, request

from idp.accounts import activity
from idp.extensions import db
from idp.models import User
from idp.web.account import bp, signed_in


@bp.get("/activity")
@signed_in
def activity_page(user: User):
    before = request.args.get("before")
    if before is not None and not (before.isdigit() and 0 < len(before) <= 18):
        abort(404)
    shown = activity.page(user, int(before) if before else None)
    page = render_template("accounts/activity.html", user=user, entries=shown.entries, older=shown.older,
                           first=before is None)
    db.session.commit()  # the session's last use
    return page
