"""The admin console's audit page (issue 16 part 2): the audit trail filtered and a page at a time, and its CSV
export. A thin view over idp/accounts/audit_trail.py, whose filter is the admin rule's (idp.accounts.admins)."""

from __future__ import annotations

from flask import Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from idp import clock
from idp.accounts import admins, audit_trail
from idp.extensions import db
from idp.web.admin import admin_only, bp

# Beside the field: what is wrong with what was typed (audit_trail.parse's error keys).
ERRORS = {
    "date": _l("Type a date as yyyy-mm-dd, for example 2026-03-01."),
    "range": _l("The end date is before the start date."),
    "event": _l("Choose an event from the list."),
    "too_long": _l("Type at most 320 characters."),
}
GROUP_NAMES = {
    "sign-in": _l("Signing in and out"),
    "account": _l("Accounts"),
    "factors": _l("Second steps and trusted browsers"),
    "portals": _l("Portals, consent and tokens"),
    "delegation": _l("Acting for others"),
    "messages": _l("E-mail and SMS"),
    "administration": _l("Administration"),
}


def _before() -> int | None:
    before = request.args.get("before")
    if before is None:
        return None
    if not (before.isascii() and before.isdigit() and 0 < len(before) <= 18 and int(before) > 0):
        abort(404)  # not a row's id: '²', '-1', 0, or more than a row's id can be
    return int(before)


@bp.get("/audit")
@admin_only
def audit(admin: admins.Admin) -> ResponseReturnValue:
    audit_trail.require_read(admin)
    parsed = audit_trail.parse(request.args)
    before = _before()
    shown = audit_trail.page(admin, parsed.filter, before)
    query = parsed.filter.described()
    return render_template(
        "admin/audit.html", admin=admin, chosen=parsed.filter, errors={k: ERRORS[v] for k, v in parsed.errors.items()},
        rows=shown.rows, older=url_for("admin.audit", before=shown.older, **query) if shown.older else None,
        newest=url_for("admin.audit", **query) if before is not None else None,
        csv_url=url_for("admin.audit_csv", **query), groups=audit_trail.GROUPS, group_names=GROUP_NAMES,
        group_prefix=audit_trail.GROUP, whole=admins.may(admin, admins.Action.VIEW_AUDIT, None))


@bp.get("/audit.csv")
@admin_only
def audit_csv(admin: admins.Admin) -> ResponseReturnValue:
    audit_trail.require_read(admin)
    parsed = audit_trail.parse(request.args)
    if parsed.errors:
        abort(400)
    text = audit_trail.export(admin, parsed.filter)
    db.session.commit()  # the export's own audit row
    name = f"audit-{clock.now().strftime('%Y%m%dT%H%M%SZ')}.csv"
    return Response("\ufeff" + text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
