"""A portal's look on the pages of its sign-in (issue 14): the organisation's name (in the header and the
<title>), its logo (from the portal's own server: that page's CSP allows its origin for images), its accent
colour (a small style sheet of our own, since no inline style is allowed), its help page, and its form of
address (u or je: the texts of the page, idp/i18n.py). A view that knows the portal of its page calls
show_portal(client) before it makes any text (gettext is eager); base.html does the rest."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, g, url_for

from idp import i18n
from idp.models import Client
from idp.portals import profile, registry

bp = Blueprint("branding", __name__)


def show_portal(client: Client | None) -> None:
    """The page of this request belongs to this portal's sign-in, and speaks in its form of address."""
    g.portal = client
    i18n.use_form_of_address(profile.of(client).form_of_address if client is not None else i18n.FORMAL)


def brand() -> dict[str, object]:
    """base.html's `brand`: the portal's name, style sheet and help page; None outside a portal's pages."""
    client = g.get("portal")
    if client is None:
        return {"brand": None}
    chosen = profile.of(client)
    return {"brand": {
        "name": profile.organisation_name(client),
        "style": url_for("branding.style", client_id=client.client_id) if chosen.accent_colour else None,
        "support_url": chosen.support_url or None,
        "logo": chosen.logo_url or None,
    }}


def image_origin() -> str | None:
    """The origin the page's logo comes from, for the page's CSP img-src (None: no portal logo on this page)."""
    client = g.get("portal")
    logo = profile.of(client).logo_url if client is not None else ""
    if not logo:
        return None
    parts = urlsplit(logo)
    return f"{parts.scheme}://{parts.netloc}"


def _darker(colour: str, factor: float = 0.78) -> str:
    return "#" + "".join(f"{int(int(colour[i:i + 2], 16) * factor):02x}" for i in (1, 3, 5))


@bp.get("/portal-style/<client_id>.css")
def style(client_id: str):
    client = registry.find(client_id)
    colour = profile.of(client).accent_colour if client is not None else ""
    if not colour:
        abort(404)
    css = f":root {{ --accent: {colour}; --accent-dark: {_darker(colour)}; }}\n"
    return Response(css, mimetype="text/css", headers={"Cache-Control": "public, max-age=300"})
