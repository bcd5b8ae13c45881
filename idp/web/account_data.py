"""The account page "Your data": download everything as JSON, and delete the account where the portals allow it.
Both are POSTs behind the fresh password check. Thin views over idp/accounts/my_data.py and
idp/accounts/self_delete.py."""

from __future__ import annotations

import json

from flask import Response, redirect, render_template, request, url_for
from flask import session as browser
from flask_babel import gettext as _

from idp import clock
from idp.accounts import my_data, self_delete
from idp.delegation import erasure
from idp.extensions import db
from idp.models import User
from idp.web.account import bp, fresh_password, signed_in
from idp.web.cookies import clear_cookie, clear_device_cookie


@bp.get("/data")
@signed_in
def data_page(user: User):
    page = render_template("accounts/data.html", user=user, may_delete=self_delete.may_delete(user))
    db.session.commit()
    return page


@bp.post("/data/download")
@signed_in
@fresh_password
def download(user: User):
    document = my_data.export(user)
    db.session.commit()
    name = f"my-data-{clock.now():%Y-%m-%d}.json"
    return Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.post("/delete")
@signed_in
@fresh_password
def delete_account(user: User):
    if not self_delete.may_delete(user):
        return render_template("accounts/data.html", user=user, may_delete=False,
                               error=_("Your account cannot be deleted here. Ask the help desk of your portal.")), 403
    if request.form.get("confirm") != "yes":  # the page that says what will happen, with the final button
        return render_template("accounts/delete.html", user=user)
    erasure.erase_own(user)
    db.session.commit()
    browser.clear()
    response = redirect(url_for("account.deleted"))
    clear_cookie(response)
    clear_device_cookie(response)
    return response


@bp.get("/deleted")
def deleted():
    return render_template("accounts/deleted.html")
