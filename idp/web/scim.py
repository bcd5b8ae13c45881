"""SCIM 2.0 (RFC 7643/7644) at /scim/v2 for provisioning systems (HR, care systems). Thin: the request goes to
scim2-server's handler over idp.scim.resources.Directory (the services' rules), the change is committed or
rolled back as a whole, and the answer is SCIM JSON. A bearer API: no CSRF, no cookies."""

from __future__ import annotations

import json
import logging
from functools import cache

from flask import Blueprint, Response, request
from scim2_models import SCIMException
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import ScimService
from werkzeug.exceptions import HTTPException

from idp import audit
from idp.errors import UserFacingError
from idp.extensions import csrf, db
from idp.runtime import settings
from idp.scim import access
from idp.scim.provider import provider
from idp.scim.resources import Caller, Directory

PREFIX = "/scim/v2"
bp = Blueprint("scim", __name__, url_prefix=PREFIX)
log = logging.getLogger(__name__)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@cache
def service() -> ScimService:
    return ScimService(provider())


def _answer(response: ScimResponse, error: Exception | None = None) -> Response:
    body = b"" if response.body is None else json.dumps(response.body).encode()
    answer = Response(body, status=response.status.value, headers=response.headers)
    answer.headers["Cache-Control"] = "no-store"
    challenge = getattr(error, "challenge", None)
    if challenge is not None:
        answer.headers["WWW-Authenticate"] = challenge()
    return answer


def _serve(scim: ScimRequest) -> ScimResponse:
    if service().match(scim).operation is not Operation.service_provider_config:  # RFC 7643 §5: ask it freely
        caller = access.caller_for(request.headers.get("Authorization"))
        audit.set_origin(audit.Origin(ip=request.remote_addr, user_agent=request.user_agent.string,
                                      actor=caller.actor))
        return ScimHandler(service(), Directory(caller, provider())).handle(scim)
    return ScimHandler(service(), Directory(Caller(client_id=""), provider())).handle(scim)


@bp.errorhandler(UserFacingError)  # refused at the edge: a control character in the query (idp.web.site)
@bp.errorhandler(HTTPException)  # a body over MAX_CONTENT_LENGTH (413), ...
def edge_error(error: Exception) -> Response:
    """What the app refuses before the SCIM handler sees the request, in SCIM's error schema (RFC 7644 §3.12).

    Also the app's handlers' answer under /scim/v2 where no route matched (idp.web.site), such as an id with a
    newline, which Flask's path converter does not take: the blueprint's handlers never see those."""
    db.session.rollback()
    status = error.status if isinstance(error, UserFacingError) else (getattr(error, "code", None) or 500)
    detail = str(error.message) if isinstance(error, UserFacingError) else str(getattr(error, "description", ""))
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status), "detail": detail}
    answer = Response(json.dumps(body), status=status, content_type="application/scim+json")
    answer.headers["Cache-Control"] = "no-store"
    return answer


def serves(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


@bp.route("", defaults={"path": ""}, methods=METHODS)
@bp.route("/<path:path>", methods=METHODS)
@csrf.exempt
def endpoint(path: str) -> Response:
    scim = ScimRequest(method=request.method, base_url=settings().issuer + PREFIX,
                       path="/" + path, query=request.args.to_dict(), headers=list(request.headers.items()),
                       body=request.get_data())
    try:
        response = _serve(scim)
    except Exception as error:
        db.session.rollback()
        if not isinstance(error, SCIMException):
            log.exception("SCIM request failed")
        return _answer(service().error_response(error), error)
    db.session.commit()
    return _answer(response)
