"""Redirect URIs at /authorize and post-logout redirect URIs at end-session: only a URI registered exactly
matches. Generated near-misses of generated registrations (case, a trailing slash, an extra or empty query, a
fragment, userinfo, percent-encoding, a port, look-alike letters, dot segments, another host around the right
one) never match. Registration (idp.portals.registry.check_uri) refuses wildcards and, outside dev mode,
anything but https."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from idp.errors import InvalidInput
from idp.extensions import db
from idp.models import PendingAuthorization
from idp.oidc import end_session
from idp.portals.registry import LOOPBACK, check_uri
from tests.helpers import RelyingParty
from tests.properties.conftest import DB_EXAMPLES

HOSTS = st.from_regex(r"\A[a-z]{2,8}(-[a-z]{2,5})?\.(example\.org|example\.nl|zorg\.example)\Z")
PATHS = st.from_regex(r"\A(/[a-z0-9_]{1,8}){1,3}/?\Z")
QUERIES = st.one_of(st.just(""), st.from_regex(r"\A\?[a-z]{1,6}=[a-z0-9]{1,6}\Z"))
PORTS = st.sampled_from(["", "", ":8443"])
REGISTERED = st.builds(lambda host, port, path, query: f"https://{host}{port}{path}{query}",
                       HOSTS, PORTS, PATHS, QUERIES)

LOOKALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "x": "\u0445",
              "i": "\u0456", "l": "1"}
MUTATIONS = ["path_case", "host_case", "trailing_slash", "no_trailing_slash", "extra_query", "empty_query",
             "fragment", "empty_fragment", "userinfo", "authority_as_userinfo", "backslash_userinfo",
             "percent", "default_port", "other_port", "lookalike", "dot_segment", "double_slash", "subdomain",
             "suffix_host", "http", "trailing_dot_host", "nul", "space"]


@st.composite
def near_miss(draw, uri: str) -> str:
    parts = urlsplit(uri)
    host, path, query = parts.netloc, parts.path, ("?" + parts.query if parts.query else "")
    kind = draw(st.sampled_from(MUTATIONS))
    at = draw(st.integers(0, 10_000))
    letters = [i for i, c in enumerate(path) if c.isalpha()]
    if kind == "path_case" and letters:
        i = letters[at % len(letters)]
        path = path[:i] + path[i].upper() + path[i + 1:]
    elif kind == "host_case":
        host = host.upper()
    elif kind == "trailing_slash":
        path += "/"
    elif kind == "no_trailing_slash" and path.endswith("/"):
        path = path[:-1]
    elif kind == "extra_query":
        query += ("&" if query else "?") + "next=/x"
    elif kind == "empty_query" and not query:
        query = "?"
    elif kind in ("fragment", "empty_fragment"):
        query += "#x" if kind == "fragment" else "#"
    elif kind == "userinfo":
        host = "someone@" + host
    elif kind == "authority_as_userinfo":
        host = host + "@evil.example"
    elif kind == "backslash_userinfo":
        host = host + "\\@evil.example"
    elif kind == "percent" and letters:
        i = letters[at % len(letters)]
        path = path[:i] + f"%{ord(path[i]):02X}" + path[i + 1:]
    elif kind == "default_port" and ":" not in host:
        host += ":443"
    elif kind == "other_port":
        host = host.split(":")[0] + ":444"
    elif kind == "lookalike":
        where = [i for i, c in enumerate(host + path) if c in LOOKALIKES]
        if where:
            i = where[at % len(where)]
            both = host + path
            both = both[:i] + LOOKALIKES[both[i]] + both[i + 1:]
            host, path = both[:len(host)], both[len(host):]
    elif kind == "dot_segment":
        path = "/x/.." + path if at % 2 else path + "/."
    elif kind == "double_slash":
        path = "/" + path
    elif kind == "subdomain":
        host = "evil." + host
    elif kind == "suffix_host":
        host = host.split(":")[0] + ".evil.example" + (":" + host.split(":")[1] if ":" in host else "")
    elif kind == "http":
        return "http" + uri[len("https"):]
    elif kind == "trailing_dot_host":
        host = host.split(":")[0] + "." + (":" + host.split(":")[1] if ":" in host else "")
    elif kind == "nul":
        path += "%00"
    elif kind == "space":
        return uri + " "
    mutated = f"https://{host}{path}{query}"
    assume(mutated != uri)
    return mutated


def _parked() -> int:
    return db.session.scalar(select(func.count()).select_from(PendingAuthorization))


@DB_EXAMPLES
@given(uri=REGISTERED, data=st.data())
def test_authorize_redirects_only_to_the_uri_registered_exactly(client, make_portal, uri, data):
    portal = make_portal(redirect_uris=[uri])
    rp = RelyingParty(client, portal)
    parked = _parked()
    wrong = data.draw(near_miss(uri))
    response = rp.authorize(redirect_uri=wrong)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert _parked() == parked
    # The control: the registration itself, exactly, parks a sign-in.
    response = rp.authorize(redirect_uri=uri)
    assert response.status_code == 302
    assert response.location.startswith("/login/")
    assert _parked() == parked + 1


@DB_EXAMPLES
@given(uri=REGISTERED, data=st.data())
def test_end_session_sends_the_browser_only_to_a_uri_registered_exactly(app, make_portal, uri, data):
    portal = make_portal(post_logout_redirect_uris=[uri])
    wrong = data.draw(near_miss(uri))
    refused = end_session.check({"client_id": portal.client_id, "post_logout_redirect_uri": wrong, "state": "s"})
    assert refused.problem == "post_logout_redirect_uri"
    assert refused.target is None
    accepted = end_session.check({"client_id": portal.client_id, "post_logout_redirect_uri": uri})
    assert accepted.problem is None
    assert accepted.target == uri


URIISH = st.one_of(
    REGISTERED,
    st.builds(lambda scheme, host, path, extra: f"{scheme}://{host}{path}{extra}",
              st.sampled_from(["https", "http", "HTTP", "HTTPS", "ftp", "javascript", ""]),
              st.one_of(HOSTS, st.sampled_from(sorted(LOOPBACK)), st.sampled_from(
                  ["127.0.0.1:9001", "localhost:8080", "127.0.0.1.evil.example", "localhost.evil.example",
                   "localhost@evil.example", "evil.example@localhost", "*.example.org", "user:pw@example.org"])),
              PATHS, st.sampled_from(["", "*", "/*", "?x=*", "#", "#x", "?a=b", "%2A"])),
    st.text(max_size=40))


@given(uri=URIISH, dev=st.booleans())
@example(uri="https://*.example.org/callback", dev=True)
@example(uri="http://portal.example.org/callback", dev=True)
@example(uri="http://127.0.0.1:9001/callback", dev=False)
@example(uri="https://portal.example.org/*", dev=False)
# Found here: what urlsplit drops or reads otherwise than a browser was registered as typed.
@example(uri=" https://portal.example.org/callback", dev=False)
@example(uri="https://portal.example.org/callback\n", dev=False)
@example(uri="\x00https://portal.example.org/", dev=False)
@example(uri="http://evil.example\\@localhost/callback", dev=True)  # a browser goes to evil.example
@example(uri="https://portal.example.org:99999/callback", dev=False)
def test_registration_takes_only_full_https_uris_and_loopback_http_in_dev_mode(uri, dev):
    try:
        kept = check_uri(uri, "redirect-uri", dev)
    except InvalidInput:
        kept = None
    must_refuse = "*" in uri or "#" in uri or not (_is_https(uri) or (dev and _is_loopback_http(uri)))
    assert not (must_refuse and kept is not None)
    assert kept in (None, uri)
    # What is kept reads the same to Python and to a browser: nothing it would drop, nothing it reads as "/".
    assert kept is None or not any(c.isspace() or c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in uri)
    assert kept is None or 0 < (urlsplit(uri).port or 443) < 65536


def _is_https(uri: str) -> bool:
    return uri.lower().startswith("https://") and len(uri) > len("https://")


def _is_loopback_http(uri: str) -> bool:
    if not uri.lower().startswith("http://"):
        return False
    authority = uri[len("http://"):].split("/")[0].split("?")[0]
    host = authority.rpartition("@")[2]
    host = host.rpartition(":")[0] if host.count(":") == 1 or (host.startswith("[") and "]:" in host) else host
    return host.lower() in LOOPBACK


@pytest.mark.parametrize("uri", ["https://portal.example.org/cb*", "https://*/cb", "https://portal.example.org/*"])
@pytest.mark.parametrize("dev", [True, False])
def test_a_wildcard_is_refused_in_every_mode(uri, dev):
    with pytest.raises(InvalidInput):
        check_uri(uri, "redirect-uri", dev)
